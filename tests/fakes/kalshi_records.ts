/**
 * Rows in Kalshi's current wire format (fills, settlements, orders, positions) for the fake Kalshi:
 * the tests' fixtures and the demo's simulated account. `i` makes ids and times unique; times
 * start at 2026-01-01T00:00:00Z.
 *
 * @example
 * ```ts
 * import { fillJson } from "./kalshi_records.ts";
 * console.log(fillJson(1).trade_id); // "trade-1"
 * ```
 *
 * @module
 */

const BASE = Date.UTC(2026, 0, 1);
const TICKER = "KXBTCD-26JAN0112-T99999.99";

/** A fill in the current wire format; `i` makes ids and times unique. */
export function fillJson(i: number): Record<string, unknown> {
  return {
    trade_id: `trade-${i}`,
    fill_id: `trade-${i}`,
    order_id: `order-${i % 50}`,
    ticker: TICKER,
    market_ticker: TICKER,
    side: "yes",
    action: "buy",
    outcome_side: "yes",
    book_side: "bid",
    count_fp: "2.00",
    yes_price_dollars: "0.5600",
    no_price_dollars: "0.4400",
    is_taker: i % 2 === 0,
    fee_cost: "0.0200",
    created_time: new Date(BASE + i * 1_000).toISOString(),
  };
}

/** A settlement in the current wire format (`revenue` is integer cents, as Kalshi sends it). */
export function settlementJson(i: number): Record<string, unknown> {
  return {
    ticker: `KXBTCD-26JAN01${String(i % 24).padStart(2, "0")}-T${100000 + i}.99`,
    event_ticker: "KXBTCD-26JAN0112",
    market_result: i % 3 === 0 ? "no" : "yes",
    yes_count_fp: "10.00",
    yes_total_cost_dollars: "5.6000",
    no_count_fp: "0.00",
    no_total_cost_dollars: "0.0000",
    revenue: 1000,
    fee_cost: "0.0700",
    settled_time: new Date(BASE + i * 3_600_000).toISOString(),
    value: 100,
  };
}

/** An order in the current wire format. */
export function orderJson(i: number, status = "resting"): Record<string, unknown> {
  return {
    order_id: `order-${i}`,
    client_order_id: `client-${i}`,
    user_id: "u",
    ticker: TICKER,
    outcome_side: "yes",
    book_side: "bid",
    side: "yes",
    action: "buy",
    type: "limit",
    status,
    yes_price_dollars: "0.5500",
    no_price_dollars: "0.4500",
    initial_count_fp: "10.00",
    remaining_count_fp: status === "resting" ? "10.00" : "0.00",
    fill_count_fp: status === "executed" ? "10.00" : "0.00",
    created_time: new Date(BASE + i * 60_000).toISOString(),
    last_update_time: new Date(BASE + i * 60_000).toISOString(),
  };
}

/** A market position in the current wire format. */
export function positionJson(i: number, position = "3.00"): Record<string, unknown> {
  return {
    ticker: `KXBTCD-26JAN0112-T${100000 + i * 250 - 1}.99`,
    exchange_index: 0,
    position_fp: position,
    total_traded_dollars: "1.6800",
    market_exposure_dollars: "1.6800",
    realized_pnl_dollars: "0.0000",
    fees_paid_dollars: "0.0300",
    last_updated_ts: new Date(BASE).toISOString(),
  };
}
