/**
 * A followed market's final result, read from the market as Kalshi sends it (exchange-protocols.md,
 * the Market object): once its `status` is `settled` or `finalized`, its `result` (`yes`, `no`,
 * `scalar`, `void`), the settlement value of one YES contract (`settlement_value_dollars`, or the
 * legacy integer cents `settlement_value`) and `settlement_ts`. A market still open, closed or
 * `determined` (its result can still be disputed) has no final result yet.
 *
 * Corrupt data is worse than no data: a final market without a result, with a result Kalshi does
 * not document, with a negative or unreadable settlement value or an unreadable settlement time
 * is refused with a reason (the watchdog counts it as `results.rejected.<reason>` and keeps
 * following the market), never recorded half-right.
 *
 * @example
 * ```ts
 * import { marketResult } from "./results.ts";
 * const market = { ticker: "KXBTCD-26SEP0107-T99999.99", eventTicker: "KXBTCD-26SEP0107",
 *   status: "finalized", floorStrike: "99999.99", closeTime: "2026-09-01T11:00:00Z" };
 * const r = marketResult({ result: "yes", settlement_value_dollars: "1.0000" }, market);
 * // r = { ok: true, result: { result: "yes", settlementValueDollars: "1.0000", ... } }
 * ```
 *
 * @module
 */
import type { KalshiMarket } from "../../lib/kalshi/schemas.ts";
import { centsToDollars, isDecimal, numberToDecimal } from "../../lib/kalshi/money.ts";

/** Market statuses whose result is final. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(["settled", "finalized"]);
/** The results Kalshi documents for a market or a settlement. */
export const KNOWN_RESULTS: ReadonlySet<string> = new Set(["yes", "no", "scalar", "void"]);

/** One market's final result, as `live_data.kalshi_market_results` stores it. */
export interface MarketResult {
  ticker: string;
  eventTicker: string;
  /** The market's floor_strike as sent. */
  strike: string | null;
  result: string;
  /** Dollars per YES contract, as sent (null when Kalshi sent none). */
  settlementValueDollars: string | null;
  closeTime: string | null;
  settledAt: string | null;
}

/** Why a final market's result was refused. */
export type ResultRejectReason =
  | "result_missing"
  | "result_unknown"
  | "settlement_value_negative"
  | "settlement_value_invalid"
  | "settled_at_invalid";

/** The outcome of {@linkcode marketResult}: null while the result is not final. */
export type ResultOutcome =
  | null
  | { ok: true; result: MarketResult }
  | { ok: false; ticker: string; reason: ResultRejectReason; detail: string };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The settlement value as a dollar string, null when absent, or why it cannot be read. */
function settlementValue(raw: Record<string, unknown>): string | null | { bad: string } {
  const d = raw.settlement_value_dollars;
  if (typeof d === "string") return isDecimal(d) ? d : { bad: `settlement_value_dollars "${d}"` };
  if (typeof d === "number") {
    return Number.isFinite(d) ? numberToDecimal(d) : { bad: `settlement_value_dollars ${d}` };
  }
  if (d !== undefined && d !== null) return { bad: "settlement_value_dollars is not a number" };
  const c = raw.settlement_value;
  if (c === undefined || c === null) return null;
  return Number.isSafeInteger(c) ? centsToDollars(c as number) : { bad: `settlement_value ${c}` };
}

/** The final result of `market` (parsed) from its `raw` fields, once its status is final. */
export function marketResult(
  raw: Record<string, unknown>,
  market: Pick<KalshiMarket, "ticker" | "eventTicker" | "status" | "floorStrike" | "closeTime">,
): ResultOutcome {
  if (!FINAL_STATUSES.has(market.status)) return null;
  const refuse = (reason: ResultRejectReason, detail: string): ResultOutcome => ({
    ok: false,
    ticker: market.ticker,
    reason,
    detail: `market ${market.ticker} is ${market.status} ${detail}`,
  });
  const result = raw.result;
  if (result === undefined || result === null || result === "") {
    return refuse("result_missing", "without a result");
  }
  if (typeof result !== "string" || !KNOWN_RESULTS.has(result)) {
    return refuse("result_unknown", `with result ${JSON.stringify(result).slice(0, 40)}`);
  }
  const value = settlementValue(raw);
  if (value !== null && typeof value === "object") {
    return refuse("settlement_value_invalid", `with ${value.bad.slice(0, 60)}`);
  }
  if (value !== null && value.startsWith("-") && /[1-9]/.test(value)) {
    return refuse("settlement_value_negative", `with settlement value ${value}`);
  }
  const ts = raw.settlement_ts;
  let settledAt: string | null = null;
  if (ts !== undefined && ts !== null) {
    if (typeof ts !== "string" || !ISO.test(ts) || !Number.isFinite(Date.parse(ts))) {
      return refuse("settled_at_invalid", `with settlement_ts ${String(ts).slice(0, 40)}`);
    }
    settledAt = ts;
  }
  return {
    ok: true,
    result: {
      ticker: market.ticker,
      eventTicker: market.eventTicker,
      strike: market.floorStrike,
      result,
      settlementValueDollars: value,
      closeTime: market.closeTime,
      settledAt,
    },
  };
}
