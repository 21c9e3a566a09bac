/**
 * `price_watchdog`: one instance per symbol. Reads Coinbase trades (Advanced Trade or Exchange
 * feed), keeps one row per second of exchange time (the last trade price of that second) with
 * deltas and momentum (DESIGN.md §3), and writes them to `live_data.<sym>_price_log`.
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
 * - A second is written as soon as it is known complete (`ingest.ts`): the first frame of a later
 *   second, or the clock passing its end plus a 150 ms grace for late frames; the store writes it
 *   at once and announces it with `NOTIFY recio_price_<sym>` (`store.ts`).
 * - A second written before it was seen to end (a stop, a feed quiet for `idleEmitMs` while it runs
 *   too far behind our clock for the timed close) is stored `complete = false` too: a later trade
 *   of it may exist.
 * - Health: `degraded` while the feed is down (`feed <cause>`) or while the database is (`database
 *   unavailable, N rows buffered`, until the buffer has drained); `running` again after.
 * - The heartbeat carries the exchange time of the newest row (`ctx.dataAt`), so the
 *   supervisor's freshness rule restarts a feed that is connected but not advancing.
 * - Cluster mode (a warm singleton, `ctx.lease`): every node runs the feed and computes the same
 *   rows; only the holder of the lease writes, each write proving its grant (`store.ts`). A
 *   standby (`lease` null) keeps the newest `bufferRows` seconds; on a grant it writes those after
 *   the newest committed one; a fenced write makes it a standby. The command `release` (a
 *   handover) writes every closed second under the grant, then stops writing and answers
 *   `{ lastCommittedMs }`. The details show `role` (`holder` or `standby`) and `epoch`.
 *
 * @example
 * ```ts ignore
 * const args = resolveArgs({ symbol: "BTC" });
 * const store = createPriceStore({ sql, symbol: "btc", ... });
 * const actor = createPriceWatchdog(ctx, { settings: args, store });
 * await actor.start();
 * ```
 *
 * The parts: settings.ts (arguments), coinbase_feed.ts (the feed), ingest.ts (frame items into
 * seconds), gaps.ts (recording and backfilling gaps), health.ts (health and status details),
 * store.ts (the price store); this module wires them and runs the start-up and the stop.
 *
 * @module
 */
import type { Actor, ActorContext } from "../_runtime.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import { createCoinbaseFeed, type PriceFeed, type Transport } from "./coinbase_feed.ts";
import type { ParsedFrame } from "./coinbase_frames.ts";
import { GapBackfill } from "./gaps.ts";
import { WatchdogHealth } from "./health.ts";
import { TickIntake } from "./ingest.ts";
import { momentum, PriceHistory } from "./momentum.ts";
import type { SecondRow } from "./second_bucket.ts";
import type { PriceWatchdogSettings } from "./settings.ts";
import type { PriceStore } from "./store.ts";

export type { Discontinuity, PriceFeed, Transport } from "./coinbase_feed.ts";
export type { PriceStore } from "./store.ts";
export { GAP_MS } from "./gaps.ts";
export { ABSURD_FACTOR, FUTURE_TOLERANCE_MS } from "./ingest.ts";
export { type PriceWatchdogSettings, resolveArgs } from "./settings.ts";

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
  const health = new WatchdogHealth(ctx, { settings: s, store, feed });
  const gaps = new GapBackfill(ctx, {
    settings: s,
    store,
    history,
    warn,
    fetch: deps.fetch,
    writeRow,
  });
  const intake = new TickIntake(ctx, {
    productId: s.productId,
    warn,
    exchangeTime: (timeMs) => {
      gaps.exchangeTime(timeMs);
      health.feedBack();
    },
    emit: (row) => gaps.emit(row),
  });
  // Registered before start: a grant that arrives during the seed is taken over by the first pass.
  ctx.lease.onChange((grant) => {
    store.leaseChanged(grant);
    details();
  });
  let lastFrameMono = clock.monotonic();
  let feedRun: Promise<void> | undefined;
  let idle: ReturnType<typeof setInterval> | undefined;

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

  const details = () =>
    health.details({ lastPrice: intake.lastPrice, newestRowMs: history.newestMs });

  function frame(parsed: ParsedFrame, receivedMs: number): void {
    lastFrameMono = clock.monotonic();
    ctx.handled();
    for (const it of parsed.items) intake.item(it, receivedMs);
  }

  function disconnected(cause: string, detail: string): void {
    ctx.count(`disconnects.${cause}`);
    warn.warn("disconnect", "Coinbase feed of {product} lost ({cause}: {detail})", {
      product: s.productId,
      cause,
      detail,
    });
    health.feedLost(cause);
  }

  return {
    async start() {
      const seed = await store.seed();
      for (const r of seed.rows) history.add(r.timeMs, Number(r.price));
      for (const c of seed.candles) history.addCandle(c.startMs, Number(c.close));
      const newest = history.newestMs;
      intake.seed(newest, history.newestPrice);
      if (newest !== null) {
        gaps.restartedAfter(newest);
        ctx.dataAt(newest);
      }
      ctx.count("rows.seeded", seed.rows.length);
      store.start();
      feedRun = feed.run({
        frame,
        status: () => details(),
        disconnected,
        discontinuity: (d) => {
          // The second the break cut into is incomplete unless a later trade completes it.
          intake.bucket.markBreak(d.fromMs, d.toMs);
          gaps.discontinuity(d);
        },
      }, ctx.signal).catch(onFatal);
      idle = setInterval(() => {
        if (
          intake.bucket.openSecondMs !== null && clock.monotonic() - lastFrameMono >= s.idleEmitMs
        ) {
          // Not seen to end (heartbeats stopped too): a later trade of it may exist.
          gaps.emit(intake.bucket.flush(true));
        }
        health.report();
        details();
      }, Math.min(1_000, s.idleEmitMs));
      details();
    },
    async stop() {
      clearInterval(idle);
      // The feed delivers every frame that arrives until its sockets have closed.
      await feedRun;
      await gaps.running;
      intake.stop();
      // The open second was cut short: a later trade of it was never received.
      gaps.emit(intake.bucket.flush(true));
      await store.close(3_000);
    },
    async command(name) {
      if (name === "flush") return await store.drain(3_000);
      if (name === "release") {
        // Rows held back by a backfill are closed seconds too: they are written first.
        await gaps.running;
        const result = await store.release(3_000);
        details();
        return result;
      }
      throw new Error(`unknown command "${name}"`);
    },
  };
}
