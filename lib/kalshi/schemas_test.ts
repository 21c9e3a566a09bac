import assert from "node:assert/strict";
import {
  Balance,
  EventResponse,
  Fill,
  KEY_CHARS,
  Market,
  MarketPosition,
  Order,
  Settlement,
  textReason,
  TITLE_CHARS,
} from "./schemas.ts";

const currentMarket = {
  ticker: "KXBTCD-26SEP0107-T114999.99",
  event_ticker: "KXBTCD-26SEP0107",
  status: "active",
  strike_type: "greater",
  floor_strike: 114999.99,
  close_time: "2026-09-01T11:00:00Z",
  yes_bid_dollars: "0.5600",
  yes_ask_dollars: "0.5800",
  no_bid_dollars: "0.4200",
  no_ask_dollars: "0.4400",
  last_price_dollars: "0.5700",
  volume_fp: "1200.00",
  open_interest_fp: "300.00",
  yes_sub_title: "$115,000 or above",
};

Deno.test("Market parses current _dollars/_fp fields as decimal strings", () => {
  const m = Market.parse(currentMarket);
  assert.equal(m.yesBid, "0.5600");
  assert.equal(m.floorStrike, "114999.99");
  assert.equal(m.volume, "1200.00");
  assert.equal(m.subtitle, "$115,000 or above");
  assert.equal(m.liquidity, null);
});

Deno.test("Market parses legacy integer cents into the same dollars", () => {
  const legacy = {
    ...currentMarket,
    yes_bid_dollars: undefined,
    yes_ask_dollars: undefined,
    no_bid_dollars: undefined,
    no_ask_dollars: undefined,
    last_price_dollars: undefined,
    volume_fp: undefined,
    yes_bid: 56,
    yes_ask: 58,
    no_bid: 42,
    no_ask: 44,
    last_price: 29,
    volume: 1200,
    liquidity: 123456,
  };
  const m = Market.parse(legacy);
  assert.deepEqual([m.yesBid, m.yesAsk, m.noBid, m.noAsk], ["0.56", "0.58", "0.42", "0.44"]);
  assert.equal(m.lastPrice, "0.29");
  assert.equal(m.volume, "1200");
  assert.equal(m.liquidity, "1234.56");
});

Deno.test("Market rejects a market missing a quote in both forms, or with a bad price", () => {
  const { yes_ask_dollars: _, ...missing } = currentMarket;
  assert.equal(Market.safeParse(missing).success, false);
  assert.equal(Market.safeParse({ ...currentMarket, yes_bid_dollars: "abc" }).success, false);
  assert.equal(Market.safeParse({ ...currentMarket, close_time: "yesterday" }).success, false);
});

Deno.test("EventResponse takes nested markets first, then the top-level list", () => {
  const event = { event_ticker: "E", series_ticker: "S", strike_date: "2026-09-01T11:00:00Z" };
  assert.deepEqual(EventResponse.parse({ event, markets: [1] }).markets, [1]);
  assert.deepEqual(
    EventResponse.parse({ event: { ...event, markets: [2] }, markets: [1] }).markets,
    [
      2,
    ],
  );
  assert.equal(EventResponse.safeParse({ markets: [] }).success, false);
});

Deno.test("Balance reads dollars, or legacy cents", () => {
  assert.deepEqual(Balance.parse({ balance: 12345, balance_dollars: "123.4500" }), {
    balanceDollars: "123.4500",
    portfolioValueDollars: null,
  });
  assert.deepEqual(Balance.parse({ balance: 12345, portfolio_value: 6789 }), {
    balanceDollars: "123.45",
    portfolioValueDollars: "67.89",
  });
  assert.equal(Balance.safeParse({}).success, false);
});

Deno.test("MarketPosition reads current and legacy forms", () => {
  const cur = MarketPosition.parse({
    ticker: "T",
    position_fp: "-3.00",
    market_exposure_dollars: "1.2300",
    last_updated_ts: "2026-01-01T00:00:00Z",
  });
  assert.equal(cur.positionFp, "-3.00");
  assert.equal(cur.marketExposureDollars, "1.2300");
  const old = MarketPosition.parse({ ticker: "T", position: 4, realized_pnl: -250, fees_paid: 7 });
  assert.equal(old.positionFp, "4");
  assert.equal(old.realizedPnlDollars, "-2.50");
  assert.equal(old.feesPaidDollars, "0.07");
  assert.equal(MarketPosition.safeParse({ ticker: "T" }).success, false);
});

Deno.test("Fill reads fill_id/market_ticker/ts and legacy yes_price cents", () => {
  const f = Fill.parse({
    fill_id: "f1",
    market_ticker: "T",
    count: 5,
    yes_price: 56,
    no_price: 44,
    ts: 1_767_225_600,
    is_taker: true,
  });
  assert.equal(f.tradeId, "f1");
  assert.equal(f.ticker, "T");
  assert.equal(f.countFp, "5");
  assert.equal(f.yesPriceDollars, "0.56");
  assert.equal(f.createdTime, "2026-01-01T00:00:00.000Z");
  assert.equal(Fill.safeParse({ ticker: "T", count_fp: "1.00" }).success, false);
});

Deno.test("Order and Settlement read current and legacy amounts", () => {
  const o = Order.parse({
    order_id: "o1",
    ticker: "T",
    status: "resting",
    yes_price: 56,
    initial_count_fp: "10.00",
  });
  assert.equal(o.yesPriceDollars, "0.56");
  assert.equal(o.initialCountFp, "10.00");
  const s = Settlement.parse({
    ticker: "T",
    settled_time: "2026-01-01T00:00:00Z",
    market_result: "yes",
    yes_count_fp: "10.00",
    yes_total_cost: 560,
    revenue: 1000,
    fee_cost: "0.0700",
  });
  assert.equal(s.yesTotalCostDollars, "5.60");
  assert.equal(s.revenueDollars, "10.00");
  assert.equal(s.feeCostDollars, "0.0700");
});

Deno.test("Order refuses an identifier PostgreSQL could not store, naming the reason, and cleans the raw payload", () => {
  const good = {
    order_id: "o-1",
    ticker: "KXBTCD-26JAN0112-T99999.99",
    status: "resting",
    note: "a\u0000b\uD800",
  };
  const ok = Order.parse(good);
  assert.equal(ok.raw.note, "ab\uFFFD");
  for (
    const [field, value, reason] of [
      ["status", "resting\u0000", "nul_character"],
      ["ticker", "KX\uDFFF", "invalid_unicode"],
      ["order_id", "o".repeat(KEY_CHARS + 1), "text_too_long"],
    ] as const
  ) {
    const r = Order.safeParse({ ...good, [field]: value });
    assert.equal(r.success, false, field);
    assert.equal(textReason(r.error!), reason, field);
  }
  assert.equal(Order.safeParse({ ...good, yes_price_dollars: "1".repeat(65) }).success, false);
});

Deno.test("Market cleans and bounds its titles instead of refusing them", () => {
  const m = Market.parse({
    ticker: "KXBTCD-26JAN0112-T99999.99",
    event_ticker: "KXBTCD-26JAN0112",
    status: "active",
    close_time: "2026-01-01T17:00:00Z",
    title: "Bitcoin\u0000 price",
    yes_sub_title: "x".repeat(5_000),
    yes_bid_dollars: "0.5",
    yes_ask_dollars: "0.6",
    no_bid_dollars: "0.4",
    no_ask_dollars: "0.5",
    last_price_dollars: "0.5",
  });
  assert.equal(m.title, "Bitcoin price");
  assert.equal(m.subtitle!.length, TITLE_CHARS + 1);
});
