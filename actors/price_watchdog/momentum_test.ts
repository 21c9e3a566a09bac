import assert from "node:assert/strict";
import { momentum, percentChange, PriceHistory } from "./momentum.ts";

Deno.test("momentum() renormalises the weights over the available deltas", () => {
  assert.equal(momentum([1, null, null, null, null, null]), 1);
  const m = momentum([1, 2, null, null, null, 4])!;
  assert.ok(Math.abs(m - (0.3 * 1 + 0.25 * 2 + 0.05 * 4) / 0.6) < 1e-12);
});

Deno.test("momentum() is null when every delta is null", () => {
  assert.equal(momentum([null, null, null, null, null, null]), null);
});

Deno.test("percentChange() is a percent and null without a positive base", () => {
  assert.equal(percentChange(101, 100), 1);
  assert.equal(percentChange(100, null), null);
  assert.equal(percentChange(100, 0), null);
});

Deno.test("PriceHistory.priceAt() takes the newest row at or before t within 60 s", () => {
  const h = new PriceHistory();
  h.add(0, 10);
  h.add(30_000, 11);
  h.add(100_000, 12);
  assert.equal(h.priceAt(30_000), 11, "at t exactly");
  assert.equal(h.priceAt(90_000), 11, "60 s older is still allowed");
  assert.equal(h.priceAt(90_001), null, "more than 60 s older is not");
  assert.equal(h.priceAt(-1), null, "nothing before the first row");
});

Deno.test("PriceHistory.priceAt() falls back to the close of a candle covering t", () => {
  const h = new PriceHistory();
  h.add(0, 10);
  h.addCandle(120_000, 15);
  assert.equal(h.priceAt(150_000), 15);
  assert.equal(h.priceAt(185_000), null, "no candle for that minute");
  h.add(170_000, 16);
  assert.equal(h.priceAt(179_999), 16, "a row within 60 s wins over a candle");
});

Deno.test("PriceHistory.add() refuses rows out of order", () => {
  const h = new PriceHistory();
  h.add(1_000, 1);
  assert.throws(() => h.add(1_000, 2), /not after the newest row/);
});

Deno.test("PriceHistory.deltas() uses the current price against price_at(now - N min)", () => {
  const h = new PriceHistory();
  h.add(0, 100);
  const d = h.deltas(60_000, 101);
  assert.equal(d[0], 1);
  assert.deepEqual(d.slice(1), [null, null, null, null, null]);
});

Deno.test("PriceHistory prunes rows older than 32 minutes behind the newest", () => {
  const h = new PriceHistory();
  for (let s = 0; s <= 40 * 60; s++) h.add(s * 1000, 100 + s);
  assert.equal(h.priceAt(5 * 60_000), null);
  assert.equal(h.priceAt(30 * 60_000), 100 + 30 * 60);
});
