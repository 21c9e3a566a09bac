import assert from "node:assert/strict";
import { ageMs, historyRows } from "./history.ts";
import { buildStrikeRows, type MarketQuote } from "./strike_table.ts";

const market = (strike: number, extra: Partial<MarketQuote> = {}): MarketQuote => ({
  ticker: `KXBTCD-26NOV2415-T${strike - 0.01}`,
  floorStrike: strike - 0.01,
  yesAsk: 0.55,
  noAsk: 0.46,
  volume: 10,
  status: "active",
  yesBid: 0.54,
  noBid: 0.45,
  closeTime: Date.UTC(2026, 10, 24, 20),
  ...extra,
});

Deno.test("historyRows() adds the YES probability behind each side's, the bids and the close", () => {
  const markets = [market(99_750), market(100_250, { yesBid: null, closeTime: null })];
  const prob = (k: number) => (k < 100_000 ? 0.8 : 0.3);
  const rows = buildStrikeRows(100_000, markets, prob);
  const history = historyRows(rows, markets, prob);
  assert.deepEqual(
    history.map((h) => [h.strike, h.active_side, h.probability, h.prob_yes, h.yes_bid, h.no_bid]),
    [[99_750, "yes", 80, 80, 54, 45], [100_250, "no", 70, 30, null, 45]],
  );
  assert.equal(history[0]!.close_time?.getTime(), Date.UTC(2026, 10, 24, 20));
  assert.equal(history[1]!.close_time, null);
  // The table's own columns are carried unchanged.
  for (const [i, h] of history.entries()) {
    const { prob_yes: _p, yes_bid: _y, no_bid: _n, close_time: _c, ...row } = h;
    assert.deepEqual(row, rows[i]);
  }
});

Deno.test("historyRows() refuses a row whose market it was not given", () => {
  const rows = buildStrikeRows(100_000, [market(99_750)], () => 0.5);
  assert.throws(() => historyRows(rows, [], () => 0.5), /no market/);
});

Deno.test("ageMs() rounds to an int and clamps to PostgreSQL's int range", () => {
  assert.equal(ageMs(1_250.4), 1_250);
  assert.equal(ageMs(-30), -30);
  assert.equal(ageMs(1e12), 2_147_483_647);
  assert.equal(ageMs(-1e12), -2_147_483_648);
});
