/**
 * Parsing of Coinbase WebSocket frames (exchange-protocols.md §A1 Advanced Trade, §A2 Exchange)
 * with zod, at the edge: every frame becomes items the actor acts on, or a rejection reason.
 * Lenient on what the venue may add (unknown fields, unknown message types are ignored), strict
 * on what we use (product, price, time).
 *
 * @module
 */
import { z } from "zod";
import { checkPrice } from "../../lib/coinbase/price.ts";

/** Reasons a frame (or one ticker in it) is rejected; each is a counter `rejected.<reason>`. */
export type RejectReason =
  | "malformed_json"
  | "unknown_channel"
  | "wrong_product"
  | "bad_price"
  | "future_timestamp"
  | "stale_frame"
  | "schema";

/** One thing a frame says. */
export type FrameItem =
  | { kind: "tick"; price: string; timeMs: number }
  | { kind: "clock"; timeMs: number }
  | { kind: "ack" }
  | { kind: "server_error"; message: string }
  | { kind: "ignored"; what: string }
  /** Already delivered: a repeated sequence number, or a trade the replaced connection gave. */
  | { kind: "duplicate"; what: "sequence" | "tick" }
  | { kind: "rejected"; reason: RejectReason; detail: string };

/** A parsed frame: its connection sequence number (Advanced Trade) and its items. */
export interface ParsedFrame {
  sequence: number | null;
  items: FrameItem[];
}

/** Feed formats. */
export type FeedFormat = "advanced" | "exchange";

/** Channels of the Advanced Trade market-data and user sockets (§A1). */
const AT_CHANNELS = new Set([
  "subscriptions",
  "heartbeats",
  "ticker",
  "ticker_batch",
  "market_trades",
  "l2_data",
  "candles",
  "status",
  "user",
  "futures_balance_summary",
]);

const Price = z.union([z.string(), z.number()]);

const AtEnvelope = z.object({
  channel: z.string(),
  timestamp: z.string(),
  sequence_num: z.number().int().nonnegative(),
  events: z.array(z.unknown()),
});
const AtTickerEvent = z.object({
  type: z.string(),
  tickers: z.array(z.object({ product_id: z.string(), price: Price })),
});
const AtHeartbeatEvent = z.object({
  current_time: z.string(),
  heartbeat_counter: z.union([z.number(), z.string()]),
});
const ServerError = z.object({ type: z.literal("error"), message: z.string().default("") });

const ExTicker = z.object({
  type: z.literal("ticker"),
  sequence: z.number().int().nonnegative(),
  product_id: z.string(),
  price: Price,
  time: z.string(),
});
const ExHeartbeat = z.object({
  type: z.literal("heartbeat"),
  sequence: z.number().int().nonnegative(),
  product_id: z.string(),
  time: z.string(),
});

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 time to epoch ms, keeping microseconds as a fraction; null if invalid. */
export function parseTime(text: string): number | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = "", zone = "Z"] = m;
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!Number.isFinite(base)) return null;
  const check = new Date(base);
  if (check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h)) return null;
  const micros = Number(frac.padEnd(6, "0").slice(0, 6));
  let offset = 0;
  if (zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    offset = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return base - offset + micros / 1000;
}

function tick(productId: string, want: string, price: string | number, timeMs: number): FrameItem {
  if (productId !== want) {
    return { kind: "rejected", reason: "wrong_product", detail: `product ${productId}` };
  }
  const p = checkPrice(price);
  if ("bad" in p) return { kind: "rejected", reason: "bad_price", detail: p.bad };
  return { kind: "tick", price: p.price, timeMs };
}

function reject(reason: RejectReason, detail: string, sequence: number | null = null): ParsedFrame {
  return { sequence, items: [{ kind: "rejected", reason, detail }] };
}

function decode(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Parses one Advanced Trade frame for `productId`. */
export function parseAdvancedFrame(text: string, productId: string): ParsedFrame {
  const decoded = decode(text);
  if (!decoded.ok) return reject("malformed_json", "frame is not JSON");
  const value = decoded.value;
  const error = ServerError.safeParse(value);
  if (error.success) {
    return { sequence: null, items: [{ kind: "server_error", message: error.data.message }] };
  }
  const env = AtEnvelope.safeParse(value);
  if (!env.success) return reject("schema", "not an Advanced Trade envelope");
  const { channel, timestamp, sequence_num: sequence, events } = env.data;
  if (!AT_CHANNELS.has(channel)) return reject("unknown_channel", `channel ${channel}`, sequence);
  const timeMs = parseTime(timestamp);
  if (timeMs === null) return reject("schema", "envelope timestamp is not RFC 3339", sequence);
  switch (channel) {
    case "subscriptions":
      return { sequence, items: [{ kind: "ack" }] };
    case "heartbeats": {
      if (!events.every((e) => AtHeartbeatEvent.safeParse(e).success)) {
        return reject("schema", "bad heartbeats event", sequence);
      }
      return { sequence, items: [{ kind: "clock", timeMs }] };
    }
    case "ticker": {
      const items: FrameItem[] = [];
      for (const raw of events) {
        const ev = AtTickerEvent.safeParse(raw);
        if (!ev.success) {
          items.push({ kind: "rejected", reason: "schema", detail: "bad ticker event" });
          continue;
        }
        if (ev.data.type !== "snapshot" && ev.data.type !== "update") {
          items.push({ kind: "ignored", what: `ticker event ${ev.data.type}` });
          continue;
        }
        // Advanced Trade tickers carry no trade time: the envelope time is the exchange time.
        for (const t of ev.data.tickers) items.push(tick(t.product_id, productId, t.price, timeMs));
      }
      return { sequence, items };
    }
    default:
      return { sequence, items: [{ kind: "ignored", what: `channel ${channel}` }] };
  }
}

/** Parses one Exchange feed frame for `productId`. */
export function parseExchangeFrame(text: string, productId: string): ParsedFrame {
  const decoded = decode(text);
  if (!decoded.ok) return reject("malformed_json", "frame is not JSON");
  const value = decoded.value as { type?: unknown };
  if (!value || typeof value !== "object" || typeof value.type !== "string") {
    return reject("schema", "frame has no type");
  }
  switch (value.type) {
    case "ticker": {
      const t = ExTicker.safeParse(value);
      if (!t.success) return reject("schema", "bad ticker message");
      const timeMs = parseTime(t.data.time);
      if (timeMs === null) return reject("schema", "ticker time is not RFC 3339", t.data.sequence);
      return {
        sequence: t.data.sequence,
        items: [tick(t.data.product_id, productId, t.data.price, timeMs)],
      };
    }
    case "heartbeat": {
      const h = ExHeartbeat.safeParse(value);
      if (!h.success) return reject("schema", "bad heartbeat message");
      if (h.data.product_id !== productId) {
        return reject("wrong_product", `product ${h.data.product_id}`);
      }
      const timeMs = parseTime(h.data.time);
      if (timeMs === null) return reject("schema", "heartbeat time is not RFC 3339");
      return { sequence: null, items: [{ kind: "clock", timeMs }] };
    }
    case "subscriptions":
      return { sequence: null, items: [{ kind: "ack" }] };
    case "error": {
      const e = ServerError.safeParse(value);
      return {
        sequence: null,
        items: [{ kind: "server_error", message: e.success ? e.data.message : "error" }],
      };
    }
    default:
      // Coinbase asks clients to ignore message types they do not know.
      return { sequence: null, items: [{ kind: "ignored", what: `type ${value.type}` }] };
  }
}

/** The subscribe messages for a format (Advanced Trade: one per channel). */
export function subscribeMessages(format: FeedFormat, productId: string): string[] {
  if (format === "advanced") {
    return ["ticker", "heartbeats"].map((channel) =>
      JSON.stringify({ type: "subscribe", product_ids: [productId], channel })
    );
  }
  return [
    JSON.stringify({
      type: "subscribe",
      product_ids: [productId],
      channels: ["ticker", "heartbeat"],
    }),
  ];
}
