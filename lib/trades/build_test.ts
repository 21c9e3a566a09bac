import assert from "node:assert/strict";
import { buildTrades, type FillInput, type SettlementInput, type Trade } from "./build.ts";
import { marketOfTicker } from "./market.ts";
import { div, format, mul, parse } from "./units.ts";

const A = "KXBTCD-26JAN0112-T99999.99";
const B = "KXETHD-26JAN0112-T3749.99";
const C = "KXBTCD-26JAN0112-T100249.99";
const D = "KXBTCD-26JAN0113-T100499.99";
const T0 = Date.UTC(2026, 0, 1, 11);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function fill(
  id: string,
  ticker: string,
  side: string,
  action: string | null,
  count: string,
  price: string,
  fee: string,
  s: number,
): FillInput {
  const p = parse(price)!;
  const yes = side === "yes" ? p : parse("1")! - p;
  return {
    tradeId: id,
    orderId: `o-${id}`,
    ticker,
    side,
    action,
    countFp: count,
    yesPriceDollars: format(yes, 4),
    noPriceDollars: format(parse("1")! - yes, 4),
    feeCostDollars: fee,
    createdTime: at(s),
  };
}

function settlement(ticker: string, result: string, yes: string, no: string, s: number) {
  return {
    ticker,
    settledTime: at(s),
    marketResult: result,
    yesCountFp: yes,
    noCountFp: no,
    revenueDollars: null,
    feeCostDollars: "0.00",
  } satisfies SettlementInput;
}

/** The fields a person checks, by key. */
function money(trades: Trade[]) {
  return Object.fromEntries(trades.map((t) => [t.key, {
    status: t.status,
    contracts: t.contracts,
    open: t.contractsOpen,
    cost: t.costDollars,
    proceeds: t.proceedsDollars,
    buy: t.buyPriceDollars,
    sell: t.sellPriceDollars,
    fees: t.feesDollars,
    pnl: t.pnlDollars,
    winLoss: t.winLoss,
  }]));
}

const FILLS: FillInput[] = [
  // A: two buys, a partial sell, the rest sold: closed; then a re-buy starts a new trade.
  fill("a1", A, "yes", "buy", "10.00", "0.40", "0.07", 0),
  fill("a2", A, "yes", "buy", "5.00", "0.46", "0.04", 10),
  fill("a3", A, "yes", "sell", "6.00", "0.55", "0.05", 20),
  fill("a4", A, "yes", "sell", "9.00", "0.60", "0.06", 30),
  fill("a5", A, "yes", "buy", "3.00", "0.70", "0.03", 40),
  // B: NO bought and settled NO (won); C: YES bought and settled NO (lost).
  fill("b1", B, "no", "buy", "4.00", "0.30", "0.02", 5),
  fill("c1", C, "yes", "buy", "2.00", "0.80", "0.01", 6),
  // D: YES held, then 8 NO bought: 5 close the YES at its price 0.55, 3 open a NO trade.
  fill("d1", D, "yes", "buy", "5.00", "0.50", "0.05", 7),
  fill("d2", D, "no", "buy", "8.00", "0.45", "0.08", 8),
];
const SETTLEMENTS = [
  settlement(B, "no", "0.00", "4.00", 3600),
  settlement(C, "no", "2.00", "0.00", 3600),
];

const EXPECTED = {
  [`${A}:yes:a1`]: {
    status: "closed",
    contracts: "15.00",
    open: "0.00",
    cost: "6.30",
    proceeds: "8.70",
    buy: "0.42",
    sell: "0.58",
    fees: "0.22",
    pnl: "2.18",
    winLoss: "W",
  },
  [`${A}:yes:a5`]: {
    status: "open",
    contracts: "3.00",
    open: "3.00",
    cost: "2.10",
    proceeds: "0.00",
    buy: "0.70",
    sell: null,
    fees: "0.03",
    pnl: "-0.03",
    winLoss: null,
  },
  [`${B}:no:b1`]: {
    status: "settled",
    contracts: "4.00",
    open: "0.00",
    cost: "1.20",
    proceeds: "4.00",
    buy: "0.30",
    sell: "1.00",
    fees: "0.02",
    pnl: "2.78",
    winLoss: "W",
  },
  [`${C}:yes:c1`]: {
    status: "settled",
    contracts: "2.00",
    open: "0.00",
    cost: "1.60",
    proceeds: "0.00",
    buy: "0.80",
    sell: "0.00",
    fees: "0.01",
    pnl: "-1.61",
    winLoss: "L",
  },
  [`${D}:yes:d1`]: {
    status: "closed",
    contracts: "5.00",
    open: "0.00",
    cost: "2.50",
    proceeds: "2.75",
    buy: "0.50",
    sell: "0.55",
    fees: "0.10",
    pnl: "0.15",
    winLoss: "W",
  },
  [`${D}:no:d2`]: {
    status: "open",
    contracts: "3.00",
    open: "3.00",
    cost: "1.35",
    proceeds: "0.00",
    buy: "0.45",
    sell: null,
    fees: "0.03",
    pnl: "-0.03",
    winLoss: null,
  },
};

Deno.test("buildTrades() over several markets equals the hand-computed trades to the cent", () => {
  const r = buildTrades(FILLS, SETTLEMENTS);
  assert.deepEqual(r.rejected, []);
  assert.deepEqual(money(r.trades), EXPECTED);
  const a = r.trades.find((t) => t.key === `${A}:yes:a1`)!;
  assert.deepEqual(
    { opened: a.openedAt, closed: a.closedAt, strike: a.strike, symbol: a.symbol },
    { opened: at(0), closed: at(30), strike: "100000", symbol: "BTC" },
  );
  assert.deepEqual(a.fillIds, ["a1", "a2", "a3", "a4"]);
  assert.deepEqual(a.orderIds, ["o-a1", "o-a2", "o-a3", "o-a4"]);
  const b = r.trades.find((t) => t.ticker === B)!;
  assert.deepEqual([b.symbol, b.strike, b.closedAt, b.marketResult], [
    "ETH",
    "3750",
    at(3600),
    "no",
  ]);
  // The netting fill belongs to both trades of D.
  assert.deepEqual(r.trades.filter((t) => t.ticker === D).map((t) => t.fillIds), [
    ["d1", "d2"],
    ["d2"],
  ]);
});

Deno.test("buildTrades() keeps the first-in-first-out cost of what is still held after a partial sell", () => {
  const r = buildTrades(FILLS.slice(0, 3), []);
  const [t] = r.trades;
  // 10 @ 0.40 and 5 @ 0.46 bought, 6 sold @ 0.55: the 6 sold cost 2.40, 4 @ 0.40 + 5 @ 0.46 remain.
  assert.deepEqual(
    [t!.status, t!.contractsOpen, t!.openCostDollars, t!.proceedsDollars, t!.pnlDollars],
    ["open", "9.00", "3.90", "3.30", "0.74"],
  );
});

Deno.test("buildTrades() does not depend on the order of its input and counts a fill seen twice once", () => {
  const shuffled = [...FILLS].reverse();
  shuffled.splice(3, 0, { ...FILLS[2]! }, { ...FILLS[6]! });
  const r = buildTrades(shuffled, [...SETTLEMENTS, SETTLEMENTS[0]!].reverse());
  assert.equal(r.duplicates, 3);
  assert.deepEqual(r.rejected, []);
  assert.deepEqual(r.trades, buildTrades(FILLS, SETTLEMENTS).trades);
});

Deno.test("buildTrades() reads a fill without an action as a buy of its side, and a settlement with revenue for another result", () => {
  const f = { ...fill("x1", A, "yes", null, "2", "0.25", "0", 0), noPriceDollars: null };
  const scalar = { ...settlement(A, "scalar", "2", "0", 60), revenueDollars: "1.30" };
  const [t] = buildTrades([f], [scalar]).trades;
  assert.deepEqual([t!.status, t!.costDollars, t!.proceedsDollars, t!.pnlDollars], [
    "settled",
    "0.50",
    "1.30",
    "0.80",
  ]);
  assert.equal(t!.sellPriceDollars, "0.65");
});

Deno.test("buildTrades() rejects bad fills and settlements with a reason and leaves every other trade as it would be", () => {
  const bad: FillInput[] = [
    fill("u1", "KXDOGE-26JAN0112-T1.99", "yes", "buy", "1", "0.5", "0", 1),
    fill("u2", "garbage", "yes", "buy", "1", "0.5", "0", 1),
    fill("z1", A, "yes", "buy", "0", "0.5", "0", 2),
    fill("n1", A, "yes", "buy", "-3", "0.5", "0", 2),
    fill("q1", A, "yes", "buy", "1.005", "0.5", "0", 2),
    { ...fill("p1", A, "yes", "buy", "1", "0.5", "0", 2), yesPriceDollars: "1.5" },
    {
      ...fill("p2", A, "yes", "buy", "1", "0.5", "0", 2),
      yesPriceDollars: null,
      noPriceDollars: null,
    },
    fill("s1", A, "maybe", "buy", "1", "0.5", "0", 2),
    fill("s2", A, "yes", "hold", "1", "0.5", "0", 2),
    { ...fill("t1", A, "yes", "buy", "1", "0.5", "0", 2), createdTime: "not a time" },
    // More than held (9 by then), and a side not held at all.
    fill("o1", A, "yes", "sell", "16", "0.5", "0", 25),
    fill("o2", A, "no", "sell", "1", "0.5", "0", 25),
    // After B settled.
    fill("l1", B, "no", "buy", "1", "0.5", "0", 4000),
  ];
  const badSettlements: SettlementInput[] = [
    // Before any fill of its market, claiming contracts.
    settlement("KXBTCD-26JAN0114-T100999.99", "yes", "5", "0", 100),
    // D holds 3 NO at 3600, not 7.
    settlement(D, "no", "0", "7", 3600),
    { ...settlement(A, "void", "3", "0", 3600), revenueDollars: null },
  ];
  const r = buildTrades([...bad, ...FILLS], [...badSettlements, ...SETTLEMENTS]);
  assert.deepEqual(
    r.rejected.map((x) => `${x.ref}:${x.reason}`).sort(),
    [
      "KXBTCD-26JAN0113-T100499.99 at 2026-01-01T12:00:00.000Z:settlement_count_mismatch",
      "KXBTCD-26JAN0114-T100999.99 at 2026-01-01T11:01:40.000Z:settlement_without_position",
      "KXBTCD-26JAN0112-T99999.99 at 2026-01-01T12:00:00.000Z:unknown_result",
      "l1:fill_after_settlement",
      "n1:bad_count",
      "o1:oversell",
      "o2:oversell",
      "p1:bad_price",
      "p2:bad_price",
      "q1:bad_count",
      "s1:bad_side",
      "s2:bad_action",
      "t1:bad_time",
      "u1:unknown_market",
      "u2:unknown_market",
      "z1:bad_count",
    ].sort(),
  );
  assert.deepEqual(money(r.trades), EXPECTED, "the good trades are untouched");
});

Deno.test("buildTrades() ignores a settlement of a market closed before it, holding nothing", () => {
  const r = buildTrades(FILLS.slice(0, 4), [settlement(A, "yes", "0", "0", 3600)]);
  assert.deepEqual(r.rejected, []);
  assert.deepEqual(r.trades.map((t) => [t.status, t.closedAt]), [["closed", at(30)]]);
});

Deno.test("marketOfTicker() reads thresholds and ranges of the known series", () => {
  assert.deepEqual(marketOfTicker("KXBTCD-25AUG0517-T114999.99"), {
    symbol: "BTC",
    series: "KXBTCD",
    eventTicker: "KXBTCD-25AUG0517",
    strike: "115000",
  });
  assert.equal(marketOfTicker("KXETHD-25AUG0517-T3749.99")?.strike, "3750");
  assert.equal(marketOfTicker("KXBTC-25AUG0517-B114875")?.strike, "114875");
  assert.equal(marketOfTicker("KXBTC-25AUG0517-B114875.5")?.strike, "114875.50");
  assert.equal(marketOfTicker("KXBTC15M-25AUG0517-T1"), null);
  assert.equal(marketOfTicker("KXBTCD-25AUG0517"), null);
});

Deno.test("units: parse() refuses extra digits, mul() is exact, div() rounds half up", () => {
  assert.equal(parse("2.000000", 2), 200_000_000n);
  assert.equal(parse("2.001", 2), null);
  assert.equal(parse("1e3"), null);
  assert.equal(format(mul(parse("3")!, parse("0.5600")!)), "1.68");
  assert.equal(format(div(parse("1")!, parse("3")!)), "0.333333");
  assert.equal(format(div(parse("2")!, parse("3")!)), "0.666667");
  assert.equal(format(div(parse("-2")!, parse("3")!)), "-0.666667");
  assert.equal(format(parse("-0.05")!), "-0.05");
  assert.equal(format(0n), "0.00");
});
