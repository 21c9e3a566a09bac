/**
 * The price watchdog's gaps: a break of more than {@linkcode GAP_MS} (a restart, a feed break)
 * is recorded in `system.ingest_gaps` and backfilled from 1-minute candles, and the rows after
 * it wait until the backfill is done, so their deltas can use the candle closes. A warm standby
 * backfills its history the same way but writes no candle (cluster mode, `store.ts`).
 *
 * @module
 */
import type { ActorContext } from "../_runtime.ts";
import { type CandleFetch, fetchCandles } from "../../lib/coinbase/candles.ts";
import type { RateLimitedLog } from "../../lib/log.ts";
import type { Discontinuity } from "./feed_types.ts";
import type { PriceHistory } from "./momentum.ts";
import type { SecondRow } from "./second_bucket.ts";
import type { PriceWatchdogSettings } from "./settings.ts";
import type { PriceStore } from "./store.ts";

/** A gap longer than this is recorded (and backfilled). */
export const GAP_MS = 5_000;

/** What {@linkcode GapBackfill} needs. */
export interface GapBackfillDeps {
  settings: PriceWatchdogSettings;
  store: PriceStore;
  history: PriceHistory;
  warn: RateLimitedLog;
  fetch?: typeof fetch | undefined;
  /** Computes and writes a row (once no backfill is running). */
  writeRow(row: SecondRow): void;
}

/** Records and backfills gaps, holding back the rows that follow one until it is filled. */
export class GapBackfill {
  #ctx: ActorContext;
  #d: GapBackfillDeps;
  /** A start-up gap waiting for the first exchange time. */
  #pendingGap: { fromMs: number; cause: string } | null = null;
  #backfilling: Promise<void> | null = null;
  #waiting: SecondRow[] = [];

  constructor(ctx: ActorContext, deps: GapBackfillDeps) {
    this.#ctx = ctx;
    this.#d = deps;
  }

  /** The backfill running, if any. */
  get running(): Promise<void> | null {
    return this.#backfilling;
  }

  /** The actor restarted after its newest row: the gap ends at the next exchange time. */
  restartedAfter(newestMs: number): void {
    this.#pendingGap = { fromMs: newestMs, cause: "restart" };
  }

  /** Writes a row, or holds it while a backfill runs. */
  emit(row: SecondRow | null): void {
    if (!row) return;
    if (this.#backfilling) this.#waiting.push(row);
    else this.#d.writeRow(row);
  }

  /** New exchange time seen (a trade or a heartbeat): closes a pending gap. */
  exchangeTime(timeMs: number): void {
    const gap = this.#pendingGap;
    if (!gap) return;
    this.#pendingGap = null;
    if (timeMs - gap.fromMs > GAP_MS) {
      this.#ctx.count(`gaps.${gap.cause}`);
      this.#backfill(gap.fromMs, timeMs, gap.cause);
    }
  }

  /** Frames in [fromMs, toMs] may be lost: count it; record and backfill a long one. */
  discontinuity(d: Discontinuity): void {
    this.#ctx.count(`gaps.${d.cause}`);
    if (d.lostFrames !== null) this.#ctx.count("gaps.lost_frames", d.lostFrames);
    if (d.toMs - d.fromMs > GAP_MS) {
      this.#ctx.count("gaps.recorded");
      this.#backfill(d.fromMs, d.toMs, d.cause);
    }
  }

  #backfill(fromMs: number, toMs: number, cause: string): void {
    const ctx = this.#ctx;
    const { settings: s, store, history, warn } = this.#d;
    const abort = new AbortController();
    const cancelTimeout = ctx.clock.setTimer(() => abort.abort(), s.backfillTimeoutMs);
    const onStop = () => abort.abort();
    ctx.signal.addEventListener("abort", onStop);
    this.#backfilling = (async () => {
      let ok = false;
      try {
        const got: CandleFetch = await fetchCandles(
          {
            restUrl: s.restUrl,
            productId: s.productId,
            now: ctx.clock.now(),
            fetch: this.#d.fetch,
            signal: abort.signal,
          },
          fromMs,
          toMs,
        );
        if (got.rejected > 0) ctx.count("rejected.candle", got.rejected);
        // A standby fetches the candles for its deltas but does not insert them (the store skips
        // and counts that): its gap record then says the gap was not backfilled.
        const inserted = await store.insertCandles(got.candles);
        for (const c of got.candles) history.addCandle(c.startMs, Number(c.close));
        ctx.count("candles.backfilled", inserted);
        ok = store.role.role === "holder";
      } catch (error) {
        ctx.count("backfill.failed");
        warn.warn("backfill", "Cannot backfill the {product} gap: {error}", {
          product: s.productId,
          error: error instanceof Error ? error.message : String(error),
        });
      } finally {
        cancelTimeout();
        ctx.signal.removeEventListener("abort", onStop);
        store.recordGap({ fromMs, toMs, cause, backfilled: ok });
        this.#backfilling = null;
        for (const row of this.#waiting.splice(0)) this.#d.writeRow(row);
      }
    })();
  }
}
