/**
 * The price watchdog's store: batched, idempotent row writes into `live_data.<sym>_price_log`, a
 * bounded in-order buffer kept while PostgreSQL is unreachable, drop and gap records in
 * `system.ingest_drops` / `system.ingest_gaps`, 1-minute candles in
 * `historical_data.<sym>_ohlc_1m`, and the start-up seed of the in-memory history. It wires four
 * parts and owns the counters and logs:
 *
 * - `store_format.ts`: the admission checks run on enqueue (including the rounding into
 *   numeric(20, 8) and numeric(10, 6)) and the wire formats (unnest arrays, COPY text);
 * - `write_buffer.ts`: the bounded buffer (oldest rows dropped beyond `bufferRows`, never those a
 *   write holds) and `flush_cadence.ts`: when to write, on the clock seam;
 * - `price_log.ts`: the SQL of the price log and its records;
 * - `lib/candle_store.ts`: the candle table, shared with the `history_backfill` job.
 *
 * Live flushes (a few rows every 250 ms) are one `unnest` statement. A backlog (after an outage,
 * or rows arriving faster than flushes) drains through COPY on a dedicated single-connection pool
 * when the caller provides one (`bulk`): straight into the price log when no stored row falls
 * within the batch's seconds, otherwise (a replay) through the idempotent unnest path. Rows are
 * checked on enqueue, so COPY cannot meet a value the table refuses. A bulk write that fails or
 * does not finish in `bulkTimeoutMs` discards that pool and is written again through the unnest
 * path: rows are never lost or doubled on the way.
 *
 * One bad row never stalls the store: should PostgreSQL still refuse a batch for its data (SQLSTATE
 * class 22 or 23, e.g. a constraint the checks do not know), the batch with its gap and drop
 * records is written again in one transaction, each part in a savepoint, halved down to the rows
 * it refuses (`lib/bad_rows.ts`): those are dropped, counted (`rows.rejected`,
 * `records.rejected`) and logged with their reason (rate-limited), every other row commits. This
 * path runs only after such a failure. A connection error still keeps everything buffered.
 *
 * @example
 * ```ts ignore
 * const store = createPriceStore({
 *   sql, symbol: "btc", clock: ctx.clock, log: ctx.log, count: ctx.count, gauge: ctx.gauge,
 *   flushMs: 250, maxBatch: 500, bufferRows: 7200,
 * });
 * store.start();
 * store.enqueue(row);
 * await store.close(3_000);
 * ```
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../../lib/clock.ts";
import type { Sql } from "../../lib/db.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import { sleep } from "../../lib/sleep.ts";
import { cleanText, isDataError, rejectionReason } from "../../lib/bad_rows.ts";
import { type CandleRow, createCandleStore } from "../../lib/candle_store.ts";
import { FlushCadence } from "./flush_cadence.ts";
import { PriceLog, type Refusal, type Seed } from "./price_log.ts";
import {
  CAUSE_CHARS,
  checkRow,
  fitPercents,
  type GapRow,
  type PriceRow,
  storable,
} from "./store_format.ts";
import { WriteBuffer } from "./write_buffer.ts";

export type { CandleRow } from "../../lib/candle_store.ts";
export type { Seed } from "./price_log.ts";
export type { GapRow, PriceRow } from "./store_format.ts";

/** Options of {@linkcode createPriceStore}. */
export interface PriceStoreOptions {
  sql: Sql;
  /** Lower-case symbol, e.g. `btc` (names the tables). */
  symbol: string;
  clock: Clock;
  log: Logger;
  /** Counter sink (`ctx.count`). */
  count(name: string, n?: number): void;
  /** Gauge sink (`ctx.gauge`). */
  gauge(name: string, value: number): void;
  /** Flush at most this often... */
  flushMs: number;
  /** ...or as soon as this many rows wait. */
  maxBatch: number;
  /** Most rows kept while the database is unreachable; the oldest beyond are dropped. */
  bufferRows: number;
  /** End the pool on close (the worker's own pool). */
  endSql?: boolean;
  /** Called after rows are committed (for latency measurement). */
  onDurable?(rows: readonly PriceRow[]): void;
  /**
   * Opens the dedicated pool for COPY drains (`max: 1`, TCP_NODELAY). Without it, backlogs drain
   * through the unnest path only. The store owns what it opens and ends it on failure and close.
   */
  bulk?: () => Sql;
  /** Most time one bulk write may take before its pool is discarded (default 10 s). */
  bulkTimeoutMs?: number;
  /** After a failed bulk write that plain statements then wrote, skip COPY this long (60 s). */
  bulkCoolDownMs?: number;
}

/** The price watchdog's store. */
export interface PriceStore {
  seed(): Promise<Seed>;
  /** Queues a row; written within `flushMs` (or at once when `maxBatch` rows wait). */
  enqueue(row: PriceRow): void;
  /** Records a gap (queued with the rows when the database is down). */
  recordGap(gap: GapRow): void;
  /** Writes candles, existing minutes untouched; returns how many were new. */
  insertCandles(candles: readonly CandleRow[]): Promise<number>;
  /** Starts the flush timer. */
  start(): void;
  /** Writes everything buffered, retrying failures for about `timeoutMs`; true if empty. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Drains, stops the timer, ends the pool if it owns it. */
  close(timeoutMs: number): Promise<void>;
  /** Rows waiting to be written. */
  readonly pending: number;
  /** The last write failed (the database is unreachable); false again after one succeeds. */
  readonly failing: boolean;
}

const SYMBOL = /^[a-z][a-z0-9]{0,15}$/;
/** Rows per statement while a backlog of more than maxBatch rows drains. */
const BACKLOG_BATCH = 5_000;
/** Rows per COPY transaction while a backlog drains through the bulk pool. */
const BULK_BATCH = 20_000;

/** Builds the store of one symbol. */
export function createPriceStore(o: PriceStoreOptions): PriceStore {
  if (!SYMBOL.test(o.symbol)) {
    throw new Error(`Cannot open the price store: symbol "${o.symbol}" is not [a-z][a-z0-9]*`);
  }
  if (o.maxBatch > o.bufferRows) {
    throw new Error(`Cannot open the price store: maxBatch ${o.maxBatch} > bufferRows`);
  }
  const warn = new RateLimitedLog(o.log, {
    perWindow: 3,
    windowMs: 60_000,
    now: () => o.clock.now(),
  });
  const log = new PriceLog({
    sql: o.sql,
    symbol: o.symbol,
    clock: o.clock,
    bulk: o.bulk,
    bulkTimeoutMs: o.bulkTimeoutMs,
  });
  const candles = createCandleStore({ sql: o.sql, symbol: o.symbol, count: o.count, warn });
  const buffer = new WriteBuffer(o.bufferRows);
  const cadence = new FlushCadence({
    clock: o.clock,
    flushMs: o.flushMs,
    flush: writeBatch,
    empty: () => buffer.empty,
    full: () => buffer.pending >= o.maxBatch,
  });
  /** When COPY may be tried again after a failure. */
  let bulkAfter = 0;
  const backlogBatch = Math.max(o.maxBatch, BACKLOG_BATCH);

  /** Backlog batches go through COPY when a bulk pool is configured and not cooling down. */
  function bulkNow(): boolean {
    return o.bulk !== undefined && buffer.pending > o.maxBatch && !buffer.hasRecords &&
      o.clock.monotonic() >= bulkAfter;
  }

  /** A failed write (the database unreachable): everything stays buffered for the next try. */
  function writeFailed(rows: number, error: unknown): false {
    buffer.release();
    o.count("db.write_failed");
    warn.warn("db", "Cannot write {rows} price rows of {symbol}, keeping them: {error}", {
      rows,
      symbol: o.symbol,
      error: error instanceof Error ? error.message : String(error),
    });
    return false;
  }

  /** One batch written (true) or kept for the next try (false); counts what happened. */
  async function writeBatch(): Promise<boolean> {
    const bulk = bulkNow();
    // A backlog (after an outage, or rows arriving faster than flushes) drains in larger
    // statements; a live flush holds at most maxBatch rows as before.
    const n = buffer.pending;
    const batch = buffer.take(bulk ? BULK_BATCH : n > o.maxBatch ? backlogBatch : o.maxBatch);
    let outcome;
    try {
      outcome = await log.write(batch, bulk);
    } catch (error) {
      return writeFailed(batch.rows.length, error);
    }
    const { copied, bulkError, refused } = outcome;
    if (copied) o.count("rows.copied", batch.rows.length);
    if (bulkError !== undefined && !isDataError(bulkError) && refused === undefined) {
      // COPY failed where plain statements work (not an outage: those fail both and count as
      // db.write_failed): leave COPY alone for a while. When the plain statement was refused for
      // its data too, the rows were at fault, not COPY (which may only have timed out on them):
      // they were split out, and COPY is used again.
      bulkAfter = o.clock.monotonic() + (o.bulkCoolDownMs ?? 60_000);
      reportBulkFailure(o, warn, batch.rows.length, bulkError);
    }
    const left = reportRefusals(o, warn, refused ?? []);
    buffer.commit(batch);
    const durable = left.size ? batch.rows.filter((r) => !left.has(r)) : batch.rows;
    o.count("rows.written", durable.length);
    o.gauge("buffer.depth", buffer.pending);
    if (durable.length > 0) o.onDurable?.(durable);
    return true;
  }

  return {
    seed: () => log.seed(),
    enqueue(input) {
      const row = admit(input, o, warn);
      if (!row) return;
      const dropped = buffer.push(row);
      if (dropped > 0) {
        o.count("rows.dropped", dropped);
        warn.warn("drop", "Dropped {n} buffered price rows of {symbol}: buffer full", {
          n: dropped,
          symbol: o.symbol,
        });
      }
      o.gauge("buffer.depth", buffer.pending);
      // Flush at once when a batch is full, or when the last flush is flushMs old (a row
      // arriving after a quiet spell need not wait a whole interval).
      cadence.arrived(buffer.pending >= o.maxBatch);
    },
    recordGap(input) {
      const gap = admitGap(input, o, warn);
      if (!gap) return;
      buffer.pushGap(gap);
      cadence.arrived(true);
    },
    insertCandles: (c) => candles.insert(c),
    start() {
      cadence.start();
    },
    async drain(timeoutMs) {
      // Bounded by attempts, not by the clock seam: a test's manual clock does not move.
      let waits = Math.ceil(timeoutMs / 100);
      for (;;) {
        const ok = await cadence.flushOnce();
        if (buffer.empty) return true;
        if (!ok && waits-- <= 0) return false;
        if (!ok) await sleep(100);
      }
    },
    async close(timeoutMs) {
      cadence.stop();
      const empty = await this.drain(timeoutMs);
      if (!empty) {
        o.count("rows.lost_at_stop", buffer.pending);
        o.log.error("Stopped with {rows} price rows of {symbol} unwritten", {
          rows: buffer.pending,
          symbol: o.symbol,
        });
      }
      await log.close();
      if (o.endSql) await o.sql.end({ timeout: 2 });
    },
    get pending() {
      return buffer.pending;
    },
    get failing() {
      return cadence.failures > 0;
    },
  };
}

/** Sinks of the admission checks and the reports. */
type Sinks = Pick<PriceStoreOptions, "symbol" | "count">;

/**
 * The row as it is stored, or null when refused: a row the table cannot take would fail its
 * whole batch again and again, so it is refused here (`rejected.unstorable_row`); a percent beyond
 * numeric(10, 6) (or not finite) is stored as null, the price being good (`rows.percent_nulled`).
 */
function admit(row: PriceRow, o: Sinks, warn: RateLimitedLog): PriceRow | null {
  const bad = checkRow(row);
  if (bad) {
    o.count("rejected.unstorable_row");
    warn.warn("reject", "Refused a price row of {symbol}: {reason}", {
      symbol: o.symbol,
      reason: bad,
    });
    return null;
  }
  const fitted = fitPercents(row);
  if (!fitted) return row;
  o.count("rows.percent_nulled");
  warn.warn(
    "percent",
    "Price row of {symbol} at {second}: momentum or a delta is out of range, stored as null",
    {
      symbol: o.symbol,
      second: new Date(row.secondMs).toISOString(),
    },
  );
  return fitted;
}

/** The gap record as it is stored (its cause cleaned), or null when its times are unstorable. */
function admitGap(gap: GapRow, o: Sinks, warn: RateLimitedLog): GapRow | null {
  if (!storable(gap.fromMs) || !storable(gap.toMs)) {
    o.count("rejected.unstorable_gap");
    warn.warn("reject", "Refused a gap record of {symbol}: {from}-{to} is not of 2000-9999", {
      symbol: o.symbol,
      from: gap.fromMs,
      to: gap.toMs,
    });
    return null;
  }
  return { ...gap, cause: cleanText(gap.cause, CAUSE_CHARS) };
}

/** Counts and logs a COPY that failed where plain statements then wrote the batch. */
function reportBulkFailure(o: Sinks, warn: RateLimitedLog, rows: number, error: unknown): void {
  o.count("db.bulk_failed");
  warn.warn(
    "bulk",
    "Bulk write of {rows} price rows of {symbol} failed and was written without COPY: {error}",
    {
      rows,
      symbol: o.symbol,
      error: error instanceof Error ? error.message : String(error),
    },
  );
}

/** Counts and logs what PostgreSQL refused (once committed); returns the refused price rows. */
function reportRefusals(
  o: Sinks,
  warn: RateLimitedLog,
  refused: readonly Refusal[],
): Set<PriceRow> {
  const rows = new Set<PriceRow>();
  for (const r of refused) {
    if (r.row) rows.add(r.row);
    o.count(r.row ? "rows.rejected" : "records.rejected");
    warn.warn("refused", "Price {what} of {symbol} refused by PostgreSQL and dropped: {reason}", {
      what: r.what,
      symbol: o.symbol,
      reason: rejectionReason(r.error),
    });
  }
  return rows;
}
