import assert from "node:assert/strict";
import { normCdf, perSqrtSecond, probAtOrAbove, realizedVolPerSqrtSecond } from "./closed_form.ts";

const close = (a: number, b: number, eps = 1e-6) =>
  assert.ok(Math.abs(a - b) < eps, `${a} is not within ${eps} of ${b}`);

Deno.test("normCdf() matches table values", () => {
  close(normCdf(0), 0.5);
  close(normCdf(1), 0.8413447461);
  close(normCdf(-1.96), 0.0249978951);
  close(normCdf(2.5), 0.9937903347);
  close(normCdf(-6), 9.8659e-10, 1e-9);
});

Deno.test("probAtOrAbove() matches hand-computed lognormal cases", () => {
  // σ = 0.0002/√s, T = 900 s → σ√T = 0.006. K = S: d = (0 − σ²T/2)/σ√T = −0.003.
  const sigma = 0.0002;
  close(
    probAtOrAbove({ price: 100_000, strike: 100_000, ttcSeconds: 900, sigma }),
    normCdf(-0.003),
  );
  // K 1 % above: d = (ln(1/1.01) − 0.000018)/0.006 = −1.66137...
  const d = (Math.log(1 / 1.01) - 0.000018) / 0.006;
  close(d, -1.661388, 1e-5);
  close(
    probAtOrAbove({ price: 100_000, strike: 101_000, ttcSeconds: 900, sigma }),
    0.0483163,
    1e-5,
  );
  // Drift shifts the mean: μT = +0.006 moves d by +1.
  close(
    probAtOrAbove({ price: 100_000, strike: 101_000, ttcSeconds: 900, sigma, drift: 0.006 / 900 }),
    normCdf(d + 1),
  );
});

Deno.test("probAtOrAbove() is monotone in strike and symmetric in log-distance", () => {
  const base = { price: 50_000, ttcSeconds: 1_800, sigma: perSqrtSecond(0.6) };
  let last = 1;
  for (let k = 45_000; k <= 55_000; k += 250) {
    const p = probAtOrAbove({ ...base, strike: k });
    assert.ok(p <= last, "falls as the strike rises");
    last = p;
  }
  // Without the −σ²T/2 term the two sides mirror: P(≥ S·e^x) + P(≥ S·e^−x) = 1.
  const sigma = base.sigma;
  const half = (sigma * sigma * base.ttcSeconds) / 2;
  const up = probAtOrAbove({
    ...base,
    strike: 50_000 * Math.exp(0.01),
    drift: half / base.ttcSeconds,
  });
  const down = probAtOrAbove({
    ...base,
    strike: 50_000 * Math.exp(-0.01),
    drift: half / base.ttcSeconds,
  });
  close(up + down, 1, 1e-7);
});

Deno.test("probAtOrAbove() tends to certainty as time runs out", () => {
  const sigma = perSqrtSecond(0.5);
  const above = (t: number) => probAtOrAbove({ price: 100, strike: 99, ttcSeconds: t, sigma });
  assert.ok(above(60) > above(3_600));
  assert.equal(probAtOrAbove({ price: 100, strike: 99, ttcSeconds: 0, sigma }), 1);
  assert.equal(probAtOrAbove({ price: 98, strike: 99, ttcSeconds: -5, sigma }), 0);
});

Deno.test("realizedVolPerSqrtSecond() divides by elapsed time, not by count", () => {
  // Alternating ±1 % every 2 s: each r² = ln(1.01)² or ln(1/1.01)², elapsed 2 s per step.
  const pts = [{ t: 0, price: 100 }, { t: 2_000, price: 101 }, { t: 4_000, price: 100 }];
  close(realizedVolPerSqrtSecond(pts)!, Math.log(1.01) / Math.sqrt(2));
  assert.equal(realizedVolPerSqrtSecond(pts.slice(0, 1)), null);
});
