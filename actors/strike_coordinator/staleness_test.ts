import assert from "node:assert/strict";
import { ManualClock } from "../../lib/clock.ts";
import { staleAge, type StaleWarning, warnStale } from "./staleness.ts";

Deno.test("staleAge() reads larger than the bound with one decimal where that suffices", () => {
  assert.equal(staleAge(10_390, 10_000), "10.4");
  assert.equal(staleAge(60_000, 10_000), "60.0");
  assert.equal(staleAge(10_960, 10_000), "11.0");
  assert.equal(staleAge(250, 200), "0.3");
});

Deno.test("staleAge() adds decimals until the age visibly exceeds the bound", () => {
  assert.equal(staleAge(10_040, 10_000), "10.04");
  assert.equal(staleAge(10_001, 10_000), "10.001");
  assert.equal(staleAge(15_040, 15_000), "15.04");
  assert.equal(staleAge(10_051, 10_050), "10.1", "rounded, and still above 10.05");
  assert.equal(staleAge(10_044, 10_041), "10.044");
  for (let age = 10_001; age <= 10_999; age++) {
    assert.ok(Number(staleAge(age, 10_000)) > 10, `${age} ms reads ${staleAge(age, 10_000)}`);
  }
});

Deno.test("warnStale() warns on the transition, then once per minute of one cause", () => {
  const clock = new ManualClock();
  let last: StaleWarning | null = null;
  const warnedAt: number[] = [];
  for (let s = 0; s <= 150; s++) {
    const r = warnStale(last, "price_age", clock.monotonic());
    if (r.warn) warnedAt.push(s);
    last = r.last;
    clock.advance(1_000);
  }
  assert.deepEqual(warnedAt, [0, 60, 120]);
});

Deno.test("warnStale() warns at once when the cause changes or after a fresh spell", () => {
  const clock = new ManualClock();
  let r = warnStale(null, "price_age", clock.monotonic());
  assert.equal(r.warn, true);
  clock.advance(1_000);
  r = warnStale(r.last, "price_age", clock.monotonic());
  assert.equal(r.warn, false);
  clock.advance(1_000);
  r = warnStale(r.last, "no_event", clock.monotonic());
  assert.equal(r.warn, true, "another cause");
  assert.deepEqual(r.last, { kind: "no_event", at: 2_000 });
  clock.advance(1_000);
  assert.equal(warnStale(r.last, "no_event", clock.monotonic()).warn, false);
  // Fresh in between: the caller passes null, the next stale cycle is a transition.
  assert.equal(warnStale(null, "no_event", clock.monotonic()).warn, true);
});

Deno.test("warnStale() honours a custom interval", () => {
  const first = warnStale(null, "market_age", 0, 5_000);
  assert.equal(warnStale(first.last, "market_age", 4_999, 5_000).warn, false);
  assert.equal(warnStale(first.last, "market_age", 5_000, 5_000).warn, true);
});
