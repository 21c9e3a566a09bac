/**
 * The price check shared by everything that reads Coinbase prices: the WebSocket frames of the
 * price watchdog and the REST candles of the gap and history backfills.
 *
 * @example
 * ```ts
 * import { checkPrice } from "./price.ts";
 * console.log(checkPrice("68900.5")); // { price: "68900.5" }
 * console.log("bad" in checkPrice("-1")); // true
 * ```
 *
 * @module
 */

const DECIMAL = /^\d{1,12}(\.\d{1,12})?$/;

/** A positive, finite decimal price (as a string), or a rejection detail. */
export function checkPrice(raw: string | number): { price: string } | { bad: string } {
  const text = typeof raw === "number" ? (Number.isFinite(raw) ? String(raw) : "") : raw;
  if (!DECIMAL.test(text)) return { bad: `price ${JSON.stringify(raw)} is not a decimal` };
  if (!(Number(text) > 0)) return { bad: `price ${text} is not positive` };
  return { price: text };
}
