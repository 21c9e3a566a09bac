/**
 * The PostgreSQL `NOTIFY` channels the services publish on, and their payloads: a service that
 * wants to react to a write `LISTEN`s on its channel instead of polling the table. Every
 * notification is sent inside the transaction of the write it announces, so it is delivered
 * only when that write commits (a fenced or failed write announces nothing), in commit order.
 *
 * | channel | sent by | payload (JSON) |
 * | --- | --- | --- |
 * | `recio_price_<sym>` | `price_watchdog:<sym>`, each committed write of price rows | `{"symbol":"btc","timestamp":"<ISO of the newest row>","price":"<its price>","rows":n}` |
 * | `recio_strike_table_<sym>` | `strike_coordinator:<sym>`, each published table (and each stale flag, with `"stale":true`) | `{"symbol":"btc","cycleAt":"<ISO of the cycle>"}` |
 * | `recio_market_snapshot` | `kalshi_market_watchdog`, each committed snapshot of an event | `{"event":"KXBTCD-…","series":"KXBTCD","observedAt":"<ISO>","markets":n}` |
 *
 * `<sym>` is the lower-case symbol (`btc`). A payload is a hint, not the data: a listener reads
 * the table it announces. Notifications are lost while a listener is disconnected, so a listener
 * re-reads after each (re)connect and keeps a slow timer. The parsers below return `null` for a
 * payload that is not of the documented shape; the caller counts and ignores it.
 *
 * @example
 * ```ts
 * import { parsePriceNotification, priceChannel } from "./notify_channels.ts";
 * console.log(priceChannel("BTC")); // recio_price_btc
 * console.log(parsePriceNotification('{"symbol":"btc","timestamp":"2026-01-01T00:00:00.000Z","price":"97000.5","rows":1}'));
 * ```
 *
 * @module
 */

/** A notification of committed price rows. */
export interface PriceNotification {
  symbol: string;
  /** ISO time of the newest row written. */
  timestamp: string;
  /** Its price, a decimal string. */
  price: string;
  /** Rows written. */
  rows: number;
}

/** A notification of a published (or stale-flagged) strike table. */
export interface StrikeTableNotification {
  symbol: string;
  /** ISO time of the coordinator's cycle (the header's `last_updated` when published). */
  cycleAt: string;
  /** Present and true when the table was flagged stale rather than published. */
  stale?: true;
}

/** A notification of a committed market snapshot of one event. */
export interface MarketSnapshotNotification {
  event: string;
  series: string;
  /** ISO time the snapshot was observed. */
  observedAt: string;
  markets: number;
}

/** The channel of committed market snapshots. */
export const MARKET_SNAPSHOT_CHANNEL = "recio_market_snapshot";

const SYMBOL = /^[a-z]{2,10}$/;

function lowerSymbol(symbol: string): string {
  const s = symbol.toLowerCase();
  if (!SYMBOL.test(s)) throw new Error(`Cannot name a channel for symbol "${symbol}"`);
  return s;
}

/** `recio_price_<sym>`. */
export function priceChannel(symbol: string): string {
  return `recio_price_${lowerSymbol(symbol)}`;
}

/** `recio_strike_table_<sym>`. */
export function strikeTableChannel(symbol: string): string {
  return `recio_strike_table_${lowerSymbol(symbol)}`;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

function object(payload: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(payload);
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? v as Record<string, unknown>
      : null;
  } catch {
    return null;
  }
}

const isIso = (v: unknown): v is string =>
  typeof v === "string" && ISO.test(v) && Number.isFinite(Date.parse(v));
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isSymbol = (v: unknown): v is string => typeof v === "string" && SYMBOL.test(v);

/** A `recio_price_<sym>` payload, or null when it is not of the documented shape. */
export function parsePriceNotification(payload: string): PriceNotification | null {
  const o = object(payload);
  if (!o || !isSymbol(o.symbol) || !isIso(o.timestamp) || !isCount(o.rows)) return null;
  if (typeof o.price !== "string" || !DECIMAL.test(o.price)) return null;
  return { symbol: o.symbol, timestamp: o.timestamp, price: o.price, rows: o.rows };
}

/** A `recio_strike_table_<sym>` payload, or null when it is not of the documented shape. */
export function parseStrikeTableNotification(payload: string): StrikeTableNotification | null {
  const o = object(payload);
  if (!o || !isSymbol(o.symbol) || !isIso(o.cycleAt)) return null;
  if (o.stale !== undefined && o.stale !== true) return null;
  return { symbol: o.symbol, cycleAt: o.cycleAt, ...(o.stale ? { stale: true as const } : {}) };
}

/** A `recio_market_snapshot` payload, or null when it is not of the documented shape. */
export function parseMarketSnapshotNotification(
  payload: string,
): MarketSnapshotNotification | null {
  const o = object(payload);
  if (!o || typeof o.event !== "string" || typeof o.series !== "string") return null;
  if (o.event === "" || o.series === "" || !isIso(o.observedAt) || !isCount(o.markets)) {
    return null;
  }
  return { event: o.event, series: o.series, observedAt: o.observedAt, markets: o.markets };
}
