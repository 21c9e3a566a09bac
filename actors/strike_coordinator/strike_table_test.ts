import assert from "node:assert/strict";
import {
  buildStrikeRows,
  type MarketQuote,
  nearestMarket,
  strikeTier,
  watchlist,
} from "./strike_table.ts";

const market = (
  strike: number,
  yesAsk: number | null,
  noAsk: number | null,
  volume = 5_000,
  status: string | null = "active",
): MarketQuote => ({
  ticker: `KXBTCD-26NOV2412-T${strike - 0.01}`,
  floorStrike: strike - 0.01,
  yesAsk,
  noAsk,
  volume,
  status,
});

Deno.test("buildStrikeRows() gives diffs and the active side for strikes below and above the price", () => {
  // Model: 80 % that the price ends at or above 99,750; 30 % for 100,250.
  const p = (k: number) => (k < 100_000 ? 0.8 : 0.3);
  const rows = buildStrikeRows(
    100_000,
    [market(99_750, 0.75, 0.27), market(100_250, 0.32, 0.70)],
    p,
  );
  assert.deepEqual(rows.map((r) => [r.strike, r.active_side]), [[99_750, "yes"], [100_250, "no"]]);
  const [below, above] = rows;
  assert.equal(below!.probability, 80);
  assert.equal(below!.yes_ask, 75);
  assert.equal(below!.yes_diff, 5); // 80 − 75
  assert.equal(below!.no_diff, -7); // 100 − 80 − 27
  assert.equal(above!.probability, 70); // NO wins with 1 − 0.3
  assert.equal(above!.yes_diff, -2); // 30 − 32
  assert.equal(above!.no_diff, 0); // 70 − 70
  assert.equal(below!.buffer, 250);
  assert.equal(below!.buffer_pct, 0.25);
});

Deno.test("buildStrikeRows() keeps the 21 strikes nearest the price, sorted", () => {
  const markets = Array.from({ length: 75 }, (_, i) => market(90_000 + i * 250, 0.5, 0.5));
  const rows = buildStrikeRows(99_900, markets, () => 0.5);
  assert.equal(rows.length, 21);
  assert.equal(rows[0]!.strike, 97_500);
  assert.equal(rows[20]!.strike, 102_500);
  assert.equal(buildStrikeRows(99_900, markets, () => 0.5, 5).length, 5);
});

Deno.test("buildStrikeRows() survives missing asks, zero volume and bad strikes", () => {
  const rows = buildStrikeRows(100_000, [
    market(99_750, null, null, 0),
    { ...market(100_250, 0.1, 0.9), floorStrike: Number.NaN },
  ], () => 0.9);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.yes_diff, null);
  assert.equal(rows[0]!.no_diff, null);
  assert.equal(rows[0]!.volume, 0);
});

Deno.test("strikeTier() is the common gap between strikes", () => {
  assert.equal(
    strikeTier([market(100_000, 0, 0), market(100_250, 0, 0), market(100_500, 0, 0)]),
    250,
  );
  assert.equal(strikeTier([]), null);
});

Deno.test("watchlist() filters by volume, probability, ask and edge; best probability first", () => {
  const rows = buildStrikeRows(100_000, [
    market(98_000, 0.90, 0.12, 2_000),
    market(99_000, 0.93, 0.08, 2_000),
    market(99_500, 0.99, 0.02, 2_000),
    market(99_750, 0.80, 0.21, 10),
  ], (k) => (k < 98_500 ? 0.97 : k < 99_250 ? 0.95 : 0.9));
  const w = watchlist(rows, { minVolume: 1_000, minProbability: 90, maxAsk: 98, minDiff: -2.75 });
  assert.deepEqual(w.map((r) => r.strike), [98_000, 99_000]);
});

Deno.test("nearestMarket() is the market nearest the price, the lower strike on a tie", () => {
  const markets = [
    market(99_750, 0.9, 0.1, 5_000, "closed"),
    market(100_000, 0.6, 0.4, 5_000, "active"),
    market(100_250, 0.4, 0.6, 5_000, "initialized"),
    { ...market(100_100, 0.5, 0.5, 5_000, "bad"), floorStrike: Number.NaN },
  ];
  const status = (price: number) => nearestMarket(price, markets)?.status;
  assert.equal(status(100_010), "active");
  assert.equal(status(100_200), "initialized");
  assert.equal(status(100_125), "active", "halfway: the lower strike");
  assert.equal(status(99_875), "closed", "halfway: the lower strike");
  assert.equal(status(50_000), "closed", "below every strike: the lowest");
  assert.equal(status(200_000), "initialized", "above every strike: the highest");
  // The answer does not depend on the order the markets come in.
  for (const price of [99_875, 100_010, 100_125, 100_200]) {
    assert.equal(nearestMarket(price, [...markets].reverse())?.status, status(price));
  }
  assert.equal(nearestMarket(100_000, []), null);
  assert.equal(nearestMarket(100_000, [markets[3]!]), null, "no usable strike");
});
