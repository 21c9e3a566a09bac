/**
 * The client of Coinbase's public 1-minute candles (Exchange REST, exchange-protocols.md §A3),
 * used by the price watchdog's gap backfill and the `history_backfill` job:
 * `GET /products/{id}/candles?granularity=60&start&end`, at most 300 candles per request,
 * `[time, low, high, open, close, volume]` newest first. Only finished minutes are kept, so a
 * candle's close is final.
 *
 * @module
 */
import { z } from "zod";
import { checkPrice } from "./price.ts";
import type { CandleRow } from "../candle_store.ts";

/** Most candles the endpoint returns per request. */
export const MAX_CANDLES_PER_REQUEST = 300;
/** Longest gap backfilled (older minutes do not affect deltas; the importer covers history). */
export const MAX_BACKFILL_MS = 24 * 60 * 60_000;

const Candle = z.tuple([z.number(), z.number(), z.number(), z.number(), z.number(), z.number()]);
const CandleResponse = z.array(z.unknown());

/** Minute-aligned request windows covering [fromMs, toMs], each at most 300 candles. */
export function candleWindows(fromMs: number, toMs: number): { startMs: number; endMs: number }[] {
  const first = Math.floor(fromMs / 60_000) * 60_000;
  const last = Math.floor(toMs / 60_000) * 60_000;
  const out: { startMs: number; endMs: number }[] = [];
  for (let s = first; s <= last; s += MAX_CANDLES_PER_REQUEST * 60_000) {
    out.push({ startMs: s, endMs: Math.min(last, s + (MAX_CANDLES_PER_REQUEST - 1) * 60_000) });
  }
  return out;
}

/** Options of {@linkcode fetchCandles}. */
export interface CandleFetchOptions {
  restUrl: string;
  productId: string;
  /** Epoch ms now (candles not finished by then are left out). */
  now: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** What a fetch brought back. */
export interface CandleFetch {
  candles: CandleRow[];
  /** Candles that failed validation (counted as `rejected.candle`). */
  rejected: number;
  requests: number;
}

/** Fetches the finished 1-minute candles covering [fromMs, toMs]. */
export async function fetchCandles(
  o: CandleFetchOptions,
  fromMs: number,
  toMs: number,
): Promise<CandleFetch> {
  const doFetch = o.fetch ?? fetch;
  const from = Math.max(fromMs, toMs - MAX_BACKFILL_MS);
  const out = new Map<number, CandleRow>();
  let rejected = 0;
  let requests = 0;
  for (const w of candleWindows(from, toMs)) {
    const url = new URL(
      `${o.restUrl.replace(/\/$/, "")}/products/${encodeURIComponent(o.productId)}/candles`,
    );
    url.searchParams.set("granularity", "60");
    url.searchParams.set("start", new Date(w.startMs).toISOString());
    url.searchParams.set("end", new Date(w.endMs).toISOString());
    requests++;
    const res = await doFetch(url, { signal: o.signal, headers: { accept: "application/json" } });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`Cannot fetch candles of ${o.productId}: HTTP ${res.status}`);
    }
    const body = CandleResponse.safeParse(await res.json().catch(() => null));
    if (!body.success) throw new Error(`Cannot fetch candles of ${o.productId}: not an array`);
    for (const raw of body.data) {
      const c = Candle.safeParse(raw);
      if (!c.success) {
        rejected++;
        continue;
      }
      const [time, low, high, open, close, volume] = c.data;
      const startMs = time * 1000;
      const prices = [open, high, low, close].map(checkPrice);
      const ok = prices.every((p) => "price" in p) && volume >= 0 && Number.isFinite(volume) &&
        low <= high && startMs % 60_000 === 0;
      if (!ok) {
        rejected++;
        continue;
      }
      if (startMs < w.startMs || startMs > w.endMs || startMs + 60_000 > o.now) continue;
      const [po, ph, pl, pc] = prices as { price: string }[];
      out.set(startMs, {
        startMs,
        open: po!.price,
        high: ph!.price,
        low: pl!.price,
        close: pc!.price,
        volume: String(volume),
      });
    }
  }
  const candles = [...out.values()].sort((a, b) => a.startMs - b.startMs);
  return { candles, rejected, requests };
}
