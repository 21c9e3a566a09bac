/**
 * The market a Kalshi ticker names, as far as the trades need it: the symbol, the event and the
 * strike (exchange-protocols.md §B5). A market ticker is `<series>-<event date and hour>-<T|B>
 * <number>`: `KXBTCD-25AUG0517-T114999.99` is "BTC at or above $115,000" (the threshold is written
 * one cent below the strike), `KXBTC-25AUG0517-B114875` a range around $114,875. The strike is the
 * strike table's (`actors/strike_coordinator/strike_table.ts`): a threshold's `floor_strike` plus
 * one cent, rounded to the dollar; a range's middle as written. Tickers of any other series, or of
 * no such shape, are unknown markets: the trades cannot say what they are about.
 *
 * @example
 * ```ts
 * import { marketOfTicker } from "./market.ts";
 * console.log(marketOfTicker("KXBTCD-25AUG0517-T114999.99")?.strike); // "115000"
 * ```
 *
 * @module
 */

/** Series the trades know, and their symbol (the price log's, upper case). */
export const SERIES_SYMBOLS: Readonly<Record<string, string>> = {
  KXBTCD: "BTC",
  KXBTC: "BTC",
  KXETHD: "ETH",
  KXETH: "ETH",
};

/** What a ticker says about its market. */
export interface MarketOfTicker {
  symbol: string;
  series: string;
  eventTicker: string;
  /** Dollars, as a decimal string. */
  strike: string;
}

const MARKET = /^([A-Z0-9]+)-(\d{2}[A-Z]{3}\d{4})-([TB])(\d{1,12})(?:\.(\d{1,2}))?$/;

/** The market of `ticker`, or null for an unknown one. */
export function marketOfTicker(ticker: string): MarketOfTicker | null {
  const m = MARKET.exec(ticker);
  if (!m) return null;
  const symbol = SERIES_SYMBOLS[m[1]!];
  if (!symbol) return null;
  const cents = BigInt(m[4]!) * 100n + BigInt((m[5] ?? "").padEnd(2, "0") || "0");
  let strike: string;
  if (m[3] === "T") {
    // Plus one cent, then half up to the dollar (cents are never negative here).
    strike = ((cents + 1n + 50n) / 100n).toString();
  } else {
    strike = `${cents / 100n}${
      cents % 100n === 0n ? "" : `.${String(cents % 100n).padStart(2, "0")}`
    }`;
  }
  return { symbol, series: m[1]!, eventTicker: `${m[1]}-${m[2]}`, strike };
}
