/**
 * `price_watchdog`: one instance per symbol. Reads Coinbase trades (Advanced Trade or Exchange
 * feed), keeps one row per second of exchange time (the last trade price of that second) with
 * deltas and momentum (DESIGN.md §3), and writes them in batches to `live_data.<sym>_price_log`.
 *
 * - Start-up seeds the in-memory history from the table (and backfilled candles), so a restart
 *   keeps the deltas continuous, and records the restart gap.
 * - Every frame is parsed with zod; bad ones are rejected and counted as `rejected.<reason>`
 *   (`malformed_json`, `unknown_channel`, `wrong_product`, `bad_price`, `future_timestamp`,
 *   `stale_frame`, `schema`), logged with a rate limit, never written.
 * - Feed breaks (coinbase_feed.ts): a sequence gap keeps the connection and uses the frame that
 *   revealed it; silence or a server error hands over to a new connection opened before the old
 *   one closes; a close reconnects at once. Every break is counted (`gaps.<cause>`); the second it
 *   cut into is stored `complete = false` unless a trade at or after the break's end completes it
 *   (`rows.incomplete`); breaks of more than 5 s are recorded in `system.ingest_gaps` and
 *   backfilled from 1-minute candles before the rows after the gap are computed, so `price_at(t)`
 *   across the gap can use a candle close.
 * - A second written before it was seen to end (a stop, a feed quiet for `idleEmitMs`) is stored
 *   `complete = false` too: a later trade of it may exist.
 * - Health: `degraded` while the feed is down (`feed <cause>`) or while the database is (`database
 *   unavailable, N rows buffered`, until the buffer has drained); `running` again after.
 * - The heartbeat carries the exchange time of the newest row (`ctx.dataAt`), so the
 *   supervisor's freshness rule restarts a feed that is connected but not advancing.
 *
 * @example
 * ```ts ignore
 * const args = resolveArgs({ symbol: "BTC" });
 * const store = createPriceStore({ sql, symbol: "btc", ... });
 * const actor = createPriceWatchdog(ctx, { settings: args, store });
 * await actor.start();
 * ```
 *
 * @module
 */
import type { Actor, ActorContext } from "../_runtime.ts";
import { type CandleFetch, fetchCandles } from "../../lib/coinbase/candles.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import {
  createCoinbaseFeed,
  type Discontinuity,
  type PriceFeed,
  type Transport,
} from "./coinbase_feed.ts";
import type { FrameItem, ParsedFrame, RejectReason } from "./coinbase_frames.ts";
import { momentum, PriceHistory } from "./momentum.ts";
import { SecondBucket, type SecondRow } from "./second_bucket.ts";
import type { PriceStore } from "./store.ts";
import { type ActorArgs, COINBASE_URLS, parseActorArgs } from "../../schema/actor_args.ts";

export type { Discontinuity, PriceFeed, Transport } from "./coinbase_feed.ts";
export type { PriceStore } from "./store.ts";

/** A gap longer than this is recorded (and backfilled). */
export const GAP_MS = 5_000;
/** Frames more than this far ahead of our clock are rejected. */
export const FUTURE_TOLERANCE_MS = 5_000;
/** A price beyond this factor of the last accepted one is absurd. */
export const ABSURD_FACTOR = 10;

/** Resolved settings. */
export type PriceWatchdogSettings =
  & Omit<ActorArgs<"price_watchdog">, "wsUrl" | "productId">
  & {
    productId: string;
    wsUrl: string;
  };

/** Validates the actor's arguments and fills in defaults (URLs follow the feed format). */
export function resolveArgs(raw: unknown): PriceWatchdogSettings {
  const a = parseActorArgs("price_watchdog", raw);
  return {
    ...a,
    productId: a.productId ?? `${a.symbol.toUpperCase()}-USD`,
    wsUrl: a.wsUrl ?? COINBASE_URLS[a.feed],
  };
}

/** What the actor needs; the feed and candle fetch are built from settings unless given. */
export interface PriceWatchdogDeps {
  settings: PriceWatchdogSettings;
  store: PriceStore;
  /** The socket under the feed (tests may wrap it). */
  transport?: Transport;
  /** A ready-made feed (replaces the Coinbase one). */
  feed?: PriceFeed;
  fetch?: typeof fetch;
  /** Called when the feed gives up; by default the error is thrown so the worker crashes. */
  onFatal?: (error: unknown) => void;
}

/** Builds the watchdog of one symbol. */
export function createPriceWatchdog(ctx: ActorContext, deps: PriceWatchdogDeps): Actor {
  const s = deps.settings;
  const { clock } = ctx;
  const store = deps.store;
  const feed = deps.feed ?? createCoinbaseFeed({
    format: s.feed,
    url: s.wsUrl,
    productId: s.productId,
    clock,
    silenceMs: s.silenceMs,
    maxAttempts: s.maxReconnectAttempts,
    transport: deps.transport,
  });
  const onFatal = deps.onFatal ?? ((e: unknown) =>
    setTimeout(() => {
      throw e;
    }));
  const warn = new RateLimitedLog(ctx.log, {
    perWindow: 5,
    windowMs: 60_000,
    now: () => clock.now(),
  });
  const history = new PriceHistory();
  let bucket = new SecondBucket();
  let lastPrice: number | null = null;
  let newestExchangeMs: number | null = null;
  let lastFrameMono = clock.monotonic();
  let pendingGap: { fromMs: number; cause: string } | null = null;
  let backfilling: Promise<void> | null = null;
  const waiting: SecondRow[] = [];
  let feedRun: Promise<void> | undefined;
  let idle: ReturnType<typeof setInterval> | undefined;
  /** Why the feed is down (cleared by the next exchange time), and whether the database is. */
  let feedDown: string | null = null;
  let dbDown = false;
  /** The degraded reason last reported, or null while running. */
  let reported: string | null = null;

  /** Reports `degraded` with every current reason, or `running` once there is none. */
  function health(): void {
    if (store.failing) dbDown = true;
    else if (dbDown && store.pending === 0) dbDown = false; // down until the buffer has drained
    const reasons: string[] = [];
    if (feedDown) reasons.push(`feed ${feedDown}`);
    if (dbDown) reasons.push(`database unavailable, ${store.pending} rows buffered`);
    const reason = reasons.length > 0 ? reasons.join("; ") : null;
    if (reason === reported) return;
    if (reason === null) ctx.recovered();
    else ctx.degraded(reason);
    reported = reason;
  }

  function details(): void {
    ctx.setDetails({
      symbol: s.symbol.toUpperCase(),
      productId: s.productId,
      feed: s.feed,
      connection: feed.status.state,
      ...(feed.status.state === "handover" ? { successor: feed.status.successor } : {}),
      lastPrice,
      newestRowAt: history.newestMs === null ? null : new Date(history.newestMs).toISOString(),
      buffered: store.pending,
      databaseAvailable: !dbDown,
    });
  }

  function reject(reason: RejectReason, detail: string): void {
    ctx.count(`rejected.${reason}`);
    warn.warn(reason, "Rejected a {product} frame ({reason}): {detail}", {
      product: s.productId,
      reason,
      detail,
    });
  }

  function writeRow(row: SecondRow): void {
    const price = Number(row.price);
    const deltas = history.deltas(row.secondMs, price);
    history.add(row.secondMs, price);
    if (row.incomplete) ctx.count("rows.incomplete");
    store.enqueue({
      secondMs: row.secondMs,
      price: row.price,
      receivedMs: row.receivedMs,
      deltas,
      momentum: momentum(deltas),
      complete: !row.incomplete,
    });
    ctx.dataAt(row.secondMs);
  }

  function emit(row: SecondRow | null): void {
    if (!row) return;
    if (backfilling) waiting.push(row);
    else writeRow(row);
  }

  function backfill(fromMs: number, toMs: number, cause: string): void {
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(), s.backfillTimeoutMs);
    const onStop = () => abort.abort();
    ctx.signal.addEventListener("abort", onStop);
    backfilling = (async () => {
      let ok = false;
      try {
        const got: CandleFetch = await fetchCandles(
          {
            restUrl: s.restUrl,
            productId: s.productId,
            now: clock.now(),
            fetch: deps.fetch,
            signal: abort.signal,
          },
          fromMs,
          toMs,
        );
        if (got.rejected > 0) ctx.count("rejected.candle", got.rejected);
        const inserted = await store.insertCandles(got.candles);
        for (const c of got.candles) history.addCandle(c.startMs, Number(c.close));
        ctx.count("candles.backfilled", inserted);
        ok = true;
      } catch (error) {
        ctx.count("backfill.failed");
        warn.warn("backfill", "Cannot backfill the {product} gap: {error}", {
          product: s.productId,
          error: error instanceof Error ? error.message : String(error),
        });
      } finally {
        clearTimeout(timeout);
        ctx.signal.removeEventListener("abort", onStop);
        store.recordGap({ fromMs, toMs, cause, backfilled: ok });
        backfilling = null;
        for (const row of waiting.splice(0)) writeRow(row);
      }
    })();
  }

  /** New exchange time seen (a trade or a heartbeat): closes a pending gap. */
  function exchangeTime(timeMs: number): void {
    if (pendingGap) {
      const gap = pendingGap;
      pendingGap = null;
      if (timeMs - gap.fromMs > GAP_MS) {
        ctx.count(`gaps.${gap.cause}`);
        backfill(gap.fromMs, timeMs, gap.cause);
      }
    }
    if (newestExchangeMs === null || timeMs > newestExchangeMs) newestExchangeMs = timeMs;
    if (feedDown) {
      feedDown = null;
      health();
    }
  }

  /** Frames in [fromMs, toMs] may be lost: mark the second it cut into; record a long one. */
  function discontinuity(d: Discontinuity): void {
    ctx.count(`gaps.${d.cause}`);
    if (d.lostFrames !== null) ctx.count("gaps.lost_frames", d.lostFrames);
    bucket.markBreak(d.fromMs, d.toMs);
    if (d.toMs - d.fromMs > GAP_MS) {
      ctx.count("gaps.recorded");
      backfill(d.fromMs, d.toMs, d.cause);
    }
  }

  function item(it: FrameItem, receivedMs: number): void {
    switch (it.kind) {
      case "tick": {
        if (it.timeMs > clock.now() + FUTURE_TOLERANCE_MS) {
          return reject("future_timestamp", `time ${new Date(it.timeMs).toISOString()}`);
        }
        const price = Number(it.price);
        if (
          lastPrice !== null &&
          (price > lastPrice * ABSURD_FACTOR || price * ABSURD_FACTOR < lastPrice)
        ) {
          return reject("bad_price", `price ${it.price} against last ${lastPrice}`);
        }
        const r = bucket.offer({ timeMs: it.timeMs, price: it.price, receivedMs });
        if (!r.accepted) return reject(r.reason, `time ${new Date(it.timeMs).toISOString()}`);
        lastPrice = price;
        exchangeTime(it.timeMs);
        ctx.count("ticks");
        emit(r.emitted);
        return;
      }
      case "clock": {
        if (it.timeMs > clock.now() + FUTURE_TOLERANCE_MS) {
          return reject("future_timestamp", `heartbeat ${new Date(it.timeMs).toISOString()}`);
        }
        exchangeTime(it.timeMs);
        emit(bucket.advance(it.timeMs));
        return;
      }
      case "ack":
        ctx.count("subscriptions");
        return;
      case "server_error":
        ctx.count("server_errors");
        warn.warn("server_error", "Coinbase sent an error for {product}: {message}", {
          product: s.productId,
          message: it.message,
        });
        return;
      case "ignored":
        ctx.count("ignored");
        return;
      case "duplicate":
        ctx.count(`duplicates.${it.what}`);
        return;
      case "rejected":
        return reject(it.reason, it.detail);
    }
  }

  function frame(parsed: ParsedFrame, receivedMs: number): void {
    lastFrameMono = clock.monotonic();
    ctx.handled();
    for (const it of parsed.items) item(it, receivedMs);
  }

  return {
    async start() {
      const seed = await store.seed();
      for (const r of seed.rows) history.add(r.timeMs, Number(r.price));
      for (const c of seed.candles) history.addCandle(c.startMs, Number(c.close));
      const newest = history.newestMs;
      lastPrice = history.newestPrice;
      bucket = new SecondBucket(newest);
      if (newest !== null) {
        newestExchangeMs = newest;
        pendingGap = { fromMs: newest, cause: "restart" };
        ctx.dataAt(newest);
      }
      ctx.count("rows.seeded", seed.rows.length);
      store.start();
      feedRun = feed.run({
        frame,
        status: () => details(),
        disconnected: (cause, detail) => {
          ctx.count(`disconnects.${cause}`);
          warn.warn("disconnect", "Coinbase feed of {product} lost ({cause}: {detail})", {
            product: s.productId,
            cause,
            detail,
          });
          feedDown ??= cause;
          health();
        },
        discontinuity,
      }, ctx.signal).catch(onFatal);
      idle = setInterval(() => {
        if (bucket.openSecondMs !== null && clock.monotonic() - lastFrameMono >= s.idleEmitMs) {
          // Not seen to end (heartbeats stopped too): a later trade of it may exist.
          emit(bucket.flush(true));
        }
        health();
        details();
      }, Math.min(1_000, s.idleEmitMs));
      details();
    },
    async stop() {
      clearInterval(idle);
      // The feed delivers every frame that arrives until its sockets have closed.
      await feedRun;
      await backfilling;
      // The open second was cut short: a later trade of it was never received.
      emit(bucket.flush(true));
      await store.close(3_000);
    },
    command(name) {
      if (name === "flush") return store.drain(3_000);
      return Promise.reject(new Error(`unknown command "${name}"`));
    },
  };
}
