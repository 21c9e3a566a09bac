import assert from "node:assert/strict";
import {
  buildLookup,
  type Candle,
  candleMomentum,
  Lookup,
  momentumBucket,
  yearWeight,
} from "./empirical.ts";

const T0 = Date.UTC(2026, 0, 1);

Deno.test("buildLookup() recovers a known move distribution", () => {
  // Every minute the price moves +0.1 % then −0.1 % alternately (relative to the last close): after 1 minute half the starts
  // are up exactly 0.1 % and half down 0.1 %; after 2 minutes the move is 0 (up to rounding).
  const candles: Candle[] = [];
  let p = 100_000;
  for (let i = 0; i < 2_000; i++) {
    candles.push({ t: T0 + i * 60_000, close: p });
    p = i % 2 === 0 ? p * 1.001 : p * 0.999;
  }
  const rows = buildLookup(candles, { currentYear: 2026 });
  const cell = (t: number, x: number) =>
    rows.find((r) => r.bucket === "all" && r.ttc_minutes === t && Math.abs(r.move_pct - x) < 1e-9)!;
  assert.ok(Math.abs(cell(1, 0.1).p_up - 0.5) < 0.01, `p_up(1m, 0.1%) = ${cell(1, 0.1).p_up}`);
  assert.ok(Math.abs(cell(1, 0.1).p_down - 0.5) < 0.01);
  assert.equal(cell(1, 0.15).p_up, 0);
  assert.equal(cell(2, 0.05).p_up, 0);
  assert.equal(cell(1, 0).p_up + cell(1, 0).p_down, 1, "every start moved one way at t=1");
});

Deno.test("Lookup interpolates in time and move, and reads strikes below the price from p_down", () => {
  const rows = [];
  for (let t = 1; t <= 60; t++) {
    for (let j = 0; j <= 40; j++) {
      const x = j * 0.05;
      // A made-up smooth table: P(move ≥ x) = max(0, 0.5 − x/(0.04·t)).
      const p = Math.max(0, 0.5 - x / (0.04 * t));
      rows.push({ bucket: "all", ttc_minutes: t, move_pct: x, p_up: p, p_down: p, samples: 1_000 });
    }
  }
  const lk = new Lookup(rows);
  // x = 0.025 % (between grid points 0 and 0.05) at t = 10 min: 0.5 − 0.025/0.4 = 0.4375.
  const p = lk.probAtOrAbove(100_000, 100_025, 600, "all");
  assert.ok(Math.abs(p - 0.4375) < 1e-9, String(p));
  // Between 10 and 11 minutes (630 s): average of the two rows.
  const mid = lk.probAtOrAbove(100_000, 100_025, 630, "all");
  const expected = ((0.5 - 0.025 / 0.4) + (0.5 - 0.025 / 0.44)) / 2;
  assert.ok(Math.abs(mid - expected) < 1e-9);
  // Strike below: 1 − P(down ≥ 0.025 %).
  assert.ok(Math.abs(lk.probAtOrAbove(100_000, 99_975, 600, "all") - (1 - 0.4375)) < 1e-9);
  assert.equal(lk.bucketFor(0.12), "all", "no bucket rows: falls back to the baseline");
});

Deno.test("candleMomentum() renormalises over the deltas it has", () => {
  const closes = new Map([[100, 101], [99, 100]]);
  const m = candleMomentum(closes, 100)!;
  assert.ok(Math.abs(m - 1) < 1e-9);
  assert.equal(candleMomentum(new Map([[100, 1]]), 100), null);
  assert.equal(momentumBucket(0.051), 5);
  assert.equal(momentumBucket(-3), -30);
  assert.equal(yearWeight(2026, 2026), 5);
  assert.equal(yearWeight(2019, 2026), 1);
});
