/**
 * Test helpers of the trades (issue 16): fills and settlements in Kalshi's wire format for the
 * fake Kalshi, a scenario over five markets with its trades computed by hand, and the stored
 * trades read back as text.
 *
 * The scenario (times in seconds after BASE):
 * - A (BTC 100000): buy 10 YES @ 0.40 (fee 0.07, t 0), buy 5 @ 0.46 (0.04, t 10, legacy cents
 *   shape), sell 6 @ 0.55 (0.05, t 20), sell 9 @ 0.60 (0.06, t 30): closed, cost 6.30, proceeds
 *   8.70, fees 0.22, P&L 8.70 − 6.30 − 0.22 = 2.18; then buy 3 @ 0.70 (0.03, t 40): a new trade.
 * - B (ETH 3750): buy 4 NO @ 0.30 (0.02, t 5), settled NO: 4.00 − 1.20 − 0.02 = 2.78.
 * - C (BTC 100250): buy 2 YES @ 0.80 (0.01, t 6), settled NO: 0 − 1.60 − 0.01 = −1.61.
 * - D (BTC 100500): buy 1 YES @ 0.90 (0.01, t 7), settled YES: 1.00 − 0.90 − 0.01 = 0.09.
 *
 * @module
 */
import type { Sql } from "../lib/db.ts";

type Json = Record<string, unknown>;

/** The scenario's start: 2026-01-01 16:00 UTC (its markets settle at 17:00, noon Eastern). */
export const BASE = Date.UTC(2026, 0, 1, 16);
export const at = (s: number) => new Date(BASE + s * 1000).toISOString();

export const A = "KXBTCD-26JAN0112-T99999.99";
export const B = "KXETHD-26JAN0112-T3749.99";
export const C = "KXBTCD-26JAN0112-T100249.99";
export const D = "KXBTCD-26JAN0112-T100499.99";

/** A fill in the current wire format; `price` is the price of `side` in dollars. */
export function wireFill(
  id: string,
  ticker: string,
  side: "yes" | "no",
  action: "buy" | "sell",
  count: string,
  price: string,
  fee: string,
  s: number,
): Json {
  const p = Number(price);
  const yes = side === "yes" ? p : 1 - p;
  const buyYes = (side === "yes") === (action === "buy");
  return {
    trade_id: id,
    fill_id: id,
    order_id: `order-${id}`,
    ticker,
    market_ticker: ticker,
    side,
    action,
    outcome_side: buyYes ? "yes" : "no",
    book_side: buyYes ? "bid" : "ask",
    count_fp: count,
    yes_price_dollars: yes.toFixed(4),
    no_price_dollars: (1 - yes).toFixed(4),
    is_taker: true,
    fee_cost: fee,
    created_time: at(s),
  };
}

/** A settlement in the current wire format (`revenue` integer cents). */
export function wireSettlement(
  ticker: string,
  result: "yes" | "no",
  counts: { yes?: string; no?: string },
  revenueCents: number,
  s = 3600,
): Json {
  return {
    ticker,
    event_ticker: ticker.split("-").slice(0, 2).join("-"),
    market_result: result,
    yes_count_fp: counts.yes ?? "0.00",
    yes_total_cost_dollars: "0.0000",
    no_count_fp: counts.no ?? "0.00",
    no_total_cost_dollars: "0.0000",
    revenue: revenueCents,
    fee_cost: "0.0000",
    settled_time: at(s),
    value: result === "yes" ? 100 : 0,
  };
}

/** Fill a2 in the legacy shape (integer cents and count, no `_dollars`/`_fp`). */
const a2: Json = {
  trade_id: "a2",
  order_id: "order-a2",
  ticker: A,
  side: "yes",
  action: "buy",
  count: 5,
  yes_price: 46,
  no_price: 54,
  fee_cost: "0.04",
  created_time: at(10),
};

/** The scenario's fills, by stage: opened, partly sold, the rest. */
export const FILLS = {
  opened: [
    wireFill("a1", A, "yes", "buy", "10.00", "0.40", "0.07", 0),
    a2,
    wireFill("b1", B, "no", "buy", "4.00", "0.30", "0.02", 5),
    wireFill("c1", C, "yes", "buy", "2.00", "0.80", "0.01", 6),
    wireFill("d1", D, "yes", "buy", "1.00", "0.90", "0.01", 7),
  ],
  partial: [wireFill("a3", A, "yes", "sell", "6.00", "0.55", "0.05", 20)],
  rest: [
    wireFill("a4", A, "yes", "sell", "9.00", "0.60", "0.06", 30),
    wireFill("a5", A, "yes", "buy", "3.00", "0.70", "0.03", 40),
  ],
};
export const SETTLEMENTS = [
  wireSettlement(B, "no", { no: "4.00" }, 400),
  wireSettlement(C, "no", { yes: "2.00" }, 0),
  wireSettlement(D, "yes", { yes: "1.00" }, 100),
];

/** A stored trade as text: the columns a person checks. */
export interface TradeText {
  trade_key: string;
  status: string;
  side: string;
  strike: string;
  symbol: string;
  position_count: string;
  contracts_open: string;
  cost_dollars: string;
  proceeds_dollars: string;
  open_cost_dollars: string;
  buy_price_dollars: string;
  sell_price_dollars: string | null;
  fees_dollars: string;
  pnl_dollars: string;
  win_loss: string | null;
  opened_at: string;
  closed_at: string | null;
  fill_ids: string[];
  order_ids: string[];
}

/** `trades` ordered by key (code-point order, whatever the database's collation). */
export function byKey(trades: readonly TradeText[]): TradeText[] {
  return [...trades].sort((a, b) => (a.trade_key < b.trade_key ? -1 : 1));
}

/** Where each market's trades are: side, strike, symbol. */
const MARKET: Record<string, [string, string, string]> = {
  [A]: ["yes", "100000", "BTC"],
  [B]: ["no", "3750", "ETH"],
  [C]: ["yes", "100250", "BTC"],
  [D]: ["yes", "100500", "BTC"],
};

/**
 * A trade from one line: `status bought open cost proceeds open-cost avg-buy avg-sell fees P&L
 * win/loss opened closed`, `-` for null, times in seconds after BASE.
 */
function T(ticker: string, line: string, fillIds: string): TradeText {
  const v = line.split(/\s+/).map((x) => (x === "-" ? null : x));
  const fills = fillIds.split(" ");
  const [side, strike, symbol] = MARKET[ticker]!;
  return {
    trade_key: `${ticker}:${side}:${fills[0]}`,
    status: v[0]!,
    side,
    strike,
    symbol,
    position_count: v[1]!,
    contracts_open: v[2]!,
    cost_dollars: v[3]!,
    proceeds_dollars: v[4]!,
    open_cost_dollars: v[5]!,
    buy_price_dollars: v[6]!,
    sell_price_dollars: v[7] ?? null,
    fees_dollars: v[8]!,
    pnl_dollars: v[9]!,
    win_loss: v[10] ?? null,
    opened_at: at(Number(v[11])),
    closed_at: v[12] === null || v[12] === undefined ? null : at(Number(v[12])),
    fill_ids: fills,
    order_ids: fills.map((f) => `order-${f}`),
  };
}

/** The trades after stage `opened`, by key. */
export const AFTER_OPENED: TradeText[] = byKey([
  T(A, "open 15.00 15.00 6.30 0.00 6.30 0.42 -    0.11 -0.11 - 0 -", "a1 a2"),
  T(B, "open  4.00  4.00 1.20 0.00 1.20 0.30 -    0.02 -0.02 - 5 -", "b1"),
  T(C, "open  2.00  2.00 1.60 0.00 1.60 0.80 -    0.01 -0.01 - 6 -", "c1"),
  T(D, "open  1.00  1.00 0.90 0.00 0.90 0.90 -    0.01 -0.01 - 7 -", "d1"),
]);

/** A after the partial sale: 6 of 10 @ 0.40 sold @ 0.55; 4 @ 0.40 and 5 @ 0.46 held. */
export const A_AFTER_PARTIAL = T(
  A,
  "open 15.00 9.00 6.30 3.30 3.90 0.42 0.55 0.16 0.74 - 0 -",
  "a1 a2 a3",
);

/** Every trade at the end. */
export const FINAL: TradeText[] = byKey([
  T(A, "closed  15.00 0.00 6.30 8.70 0.00 0.42 0.58 0.22  2.18 W  0   30", "a1 a2 a3 a4"),
  T(A, "open     3.00 3.00 2.10 0.00 2.10 0.70 -    0.03 -0.03 - 40    -", "a5"),
  T(B, "settled  4.00 0.00 1.20 4.00 0.00 0.30 1.00 0.02  2.78 W  5 3600", "b1"),
  T(C, "settled  2.00 0.00 1.60 0.00 0.00 0.80 0.00 0.01 -1.61 L  6 3600", "c1"),
  T(D, "settled  1.00 0.00 0.90 1.00 0.00 0.90 1.00 0.01  0.09 W  7 3600", "d1"),
]);

/** The live trades of user_0001 as text, by key. */
export async function liveTrades(sql: Sql): Promise<TradeText[]> {
  const rows = await sql<TradeText[]>`select trade_key, status, side, strike::text,
      symbol, position_count::text, contracts_open::text, cost_dollars::text,
      proceeds_dollars::text, open_cost_dollars::text, buy_price_dollars::text,
      sell_price_dollars::text, fees_dollars::text, pnl_dollars::text, win_loss,
      to_char(opened_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as opened_at,
      to_char(closed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as closed_at,
      fill_ids, order_ids
    from user_0001.trades where source = 'live' order by trade_key`;
  return byKey(rows.map((r) => ({ ...r })));
}

/** Every column of every trade of user_0001 but its id and write times, and the rejections. */
export async function tradeState(sql: Sql) {
  const trades = await sql<{ row: Record<string, unknown> }[]>`
    select to_jsonb(t) - 'id' - 'created_at' - 'updated_at' as row
      from user_0001.trades t order by source, trade_key collate "C", id`;
  const rejections = await sql`select kind, ref, ticker, reason
      from user_0001.trade_rejections order by kind, ref collate "C"`;
  return { trades: trades.map((r) => r.row), rejections: rejections.map((r) => ({ ...r })) };
}
