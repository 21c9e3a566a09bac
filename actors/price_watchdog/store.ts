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
 * - `lib/candle_store.ts`: the candle table, shared with the `history_backfill` job;
 * - `store_lease.ts`: the write role in cluster mode; `store_reports.ts`: admission and reports.
 *
 * When it writes (`flush_cadence.ts`): as soon as a row is queued (the actor queues a second the
 * moment it is known complete), unless a write is in flight; rows queued meanwhile are written
 * together right after it, so batches form only under backlog. While writes fail it backs off
 * (`flushMs`·2^failures, at most 2 s). Every committed write of rows is announced with `NOTIFY
 * recio_price_<sym>` inside it (`price_log.ts`, `lib/notify_channels.ts`); a symbol that makes no
 * valid channel name is refused when the store is built.
 *
 * A live write (a row or a few) is one `unnest` statement. A backlog (after an outage,
 * or rows arriving faster than writes) drains through COPY on a dedicated single-connection pool
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
 * Cluster mode (`lease`, see `store_lease.ts`): every write proves the current grant
 * (`price_log.ts`, `lib/fence.ts`). A write the database fences (RF001) is no failure: the batch
 * stays buffered, `fenced` is called (the actor steps down) and the store becomes a warm standby.
 * A standby writes nothing: its buffer is a retention of the newest `bufferRows` seconds (trimmed
 * without a drop record; counted as `standby.trimmed`) and its candle inserts are skipped
 * (`candles.standby_skipped`). On a new grant (`leaseChanged`) the first pass reads the newest
 * committed second under the grant, takes off what is at or before it (`takeover.rows_skipped`,
 * `takeover.gaps_skipped`) and writes the rest, idempotently. `release` flushes everything under
 * the grant, then writes nothing more and answers the newest committed second.
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
import { FencedError, isFenced, type LeaseGrant, requireGrant } from "../../lib/fence.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import { sleep } from "../../lib/sleep.ts";
import { isDataError } from "../../lib/bad_rows.ts";
import { type CandleRow, createCandleStore } from "../../lib/candle_store.ts";
import { FlushCadence } from "./flush_cadence.ts";
import { PriceLog, type Seed } from "./price_log.ts";
import type { GapRow, PriceRow } from "./store_format.ts";
import { type RoleStatus, StoreLease } from "./store_lease.ts";
import { admit, admitGap, reportBulkFailure, reportRefusals } from "./store_reports.ts";
import { WriteBuffer } from "./write_buffer.ts";

export type { CandleRow } from "../../lib/candle_store.ts";
export type { Seed } from "./price_log.ts";
export type { GapRow, PriceRow } from "./store_format.ts";
export type { RoleStatus } from "./store_lease.ts";

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
  /** The base of the back-off while writes fail, and of the idle wake-up. */
  flushMs: number;
  /** Most rows of one live write (a backlog drains in larger batches). */
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
  /**
   * The grant writes prove (`() => ctx.lease.current`): undefined (or no getter) = not leased,
   * nothing fenced; null = a warm standby, write nothing; a grant = write under it.
   */
  lease?: () => LeaseGrant | null | undefined;
  /** The database fenced a write (`ctx.lease.fenced`); without it `writes.fenced` is counted. */
  fenced?(error: unknown): void;
}

/** The price watchdog's store. */
export interface PriceStore {
  seed(): Promise<Seed>;
  /** Queues a row; written at once, or right after the write in flight. */
  enqueue(row: PriceRow): void;
  /** Records a gap (queued with the rows when the database is down). */
  recordGap(gap: GapRow): void;
  /** Writes candles, existing minutes untouched; returns how many were new (0 as a standby). */
  insertCandles(candles: readonly CandleRow[]): Promise<number>;
  /** Starts the flush timer. */
  start(): void;
  /** Writes everything buffered, retrying failures for about `timeoutMs`; true if empty. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Drains (not as a standby), stops the timer, ends the pool if it owns it. */
  close(timeoutMs: number): Promise<void>;
  /** The lease changed (`ctx.lease.onChange`): a grant takes over, null stops writing. */
  leaseChanged(grant: LeaseGrant | null): void;
  /**
   * Handover: writes everything buffered under the current grant, then nothing until the next
   * grant; answers the newest second this node committed (or the table's newest). Rejects, still
   * the holder, when the rows cannot be written within `timeoutMs`.
   */
  release(timeoutMs: number): Promise<{ lastCommittedMs: number | null }>;
  /** Rows waiting to be written (a standby's retained rows). */
  readonly pending: number;
  /** The last write failed (the database is unreachable); false again after one succeeds. */
  readonly failing: boolean;
  /** Holder or standby, and the epoch of the grant. */
  readonly role: RoleStatus;
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
  const lease = new StoreLease(o.lease);
  const log = new PriceLog({
    sql: o.sql,
    symbol: o.symbol,
    clock: o.clock,
    bulk: o.bulk,
    bulkTimeoutMs: o.bulkTimeoutMs,
  });
  const candles = createCandleStore({
    sql: o.sql,
    symbol: o.symbol,
    count: o.count,
    warn,
    grant: () => requireGrant(lease.grant),
  });
  const buffer = new WriteBuffer(o.bufferRows);
  const cadence = new FlushCadence({
    clock: o.clock,
    flushMs: o.flushMs,
    flush: writeBatch,
    // A standby has nothing to write: no pass runs.
    empty: () => buffer.empty || lease.grant === null,
    // Any row waiting is ready (its second is complete): the pass after a write goes on at once.
    full: () => lease.grant !== null && buffer.pending > 0,
  });
  /** When COPY may be tried again after a failure. */
  let bulkAfter = 0;
  const backlogBatch = Math.max(o.maxBatch, BACKLOG_BATCH);
  /** The newest second this store committed (epoch ms). */
  let lastCommittedMs: number | null = null;

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

  /** The database fenced a write: keep everything, step down, write nothing until a grant. */
  function fencedWrite(what: string, error: unknown): true {
    buffer.release();
    lease.pause();
    if (o.fenced) o.fenced(error);
    else o.count("writes.fenced");
    warn.warn("fenced", "Stopped writing {what} of {symbol}: the lease is held elsewhere", {
      what,
      symbol: o.symbol,
    });
    return true;
  }

  /** A new grant's first pass: what the other node committed is not written again. */
  async function takeOver(grant: LeaseGrant): Promise<void> {
    const newest = await log.newest(grant);
    lease.tookOver(grant);
    o.count("takeovers");
    if (newest === null) return;
    const cut = buffer.discardThrough(newest);
    if (cut.rows > 0) o.count("takeover.rows_skipped", cut.rows);
    if (cut.gaps > 0) o.count("takeover.gaps_skipped", cut.gaps);
  }

  /** One batch written (true) or kept for the next try (false); counts what happened. */
  async function writeBatch(): Promise<boolean> {
    const grant = lease.grant;
    if (grant === null) return true; // a standby writes nothing
    const due = lease.takeoverDue;
    if (due) {
      try {
        await takeOver(due);
      } catch (error) {
        if (isFenced(error)) return fencedWrite("price rows", error);
        return writeFailed(buffer.pending, error);
      }
      if (buffer.empty) return true;
    }
    const bulk = bulkNow();
    // A backlog (after an outage, or rows arriving faster than flushes) drains in larger
    // statements; a live flush holds at most maxBatch rows as before.
    const n = buffer.pending;
    const batch = buffer.take(bulk ? BULK_BATCH : n > o.maxBatch ? backlogBatch : o.maxBatch);
    let outcome;
    try {
      outcome = await log.write(batch, bulk, grant);
    } catch (error) {
      if (isFenced(error)) return fencedWrite("price rows", error);
      return writeFailed(batch.rows.length, error);
    }
    const { copied, bulkError, refused } = outcome;
    if (copied) o.count("rows.copied", batch.rows.length);
    if (bulkError !== undefined && !isDataError(bulkError) && (refused?.length ?? 0) === 0) {
      // COPY failed where plain statements work (not an outage: those fail both and count as
      // db.write_failed): leave COPY alone for a while. When the plain statement refused rows for
      // their data too, the rows were at fault, not COPY (which may only have timed out on them):
      // they were split out, and COPY is used again. A split that refused nothing (the statement
      // failed once and wrote every row when tried again, as postgres.js can on a pool's very
      // first array statement) leaves COPY at fault.
      bulkAfter = o.clock.monotonic() + (o.bulkCoolDownMs ?? 60_000);
      reportBulkFailure(o, warn, batch.rows.length, bulkError);
    }
    const left = reportRefusals(o, warn, refused ?? []);
    buffer.commit(batch);
    const durable = left.size ? batch.rows.filter((r) => !left.has(r)) : batch.rows;
    for (const r of durable) lastCommittedMs = Math.max(lastCommittedMs ?? r.secondMs, r.secondMs);
    o.count("rows.written", durable.length);
    if (outcome.inserted > 0) o.count("notifications");
    o.gauge("buffer.depth", buffer.pending);
    if (durable.length > 0) o.onDurable?.(durable);
    return true;
  }

  async function drain(timeoutMs: number): Promise<boolean> {
    // Bounded by attempts, not by the clock seam: a test's manual clock does not move.
    let waits = Math.ceil(timeoutMs / 100);
    for (;;) {
      if (lease.grant === null) {
        // A standby writes nothing; a write still in flight (the lease just lost) may finish.
        await cadence.flushOnce();
        return buffer.empty;
      }
      const ok = await cadence.flushOnce();
      if (buffer.empty) return true;
      if (!ok && waits-- <= 0) return false;
      if (!ok) await sleep(100);
    }
  }

  return {
    seed: () => log.seed(),
    enqueue(input) {
      const row = admit(input, o, warn);
      if (!row) return;
      const standby = lease.grant === null;
      const dropped = buffer.push(row, standby);
      if (dropped > 0 && standby) o.count("standby.trimmed", dropped);
      else if (dropped > 0) {
        o.count("rows.dropped", dropped);
        warn.warn("drop", "Dropped {n} buffered price rows of {symbol}: buffer full", {
          n: dropped,
          symbol: o.symbol,
        });
      }
      o.gauge("buffer.depth", buffer.pending);
      // A row is queued once its second is complete: write it now (one zero-delay pass for rows
      // queued together; after the write in flight if one is).
      if (!standby) cadence.arrived(true);
    },
    recordGap(input) {
      const gap = admitGap(input, o, warn);
      if (!gap) return;
      buffer.pushGap(gap);
      cadence.arrived(true);
    },
    async insertCandles(c) {
      if (lease.grant === null) {
        o.count("candles.standby_skipped", c.length);
        return 0;
      }
      try {
        return await candles.insert(c);
      } catch (error) {
        if (!isFenced(error)) throw error;
        // FencedError: the lease was lost during the insert (nothing was sent under it).
        if (!(error instanceof FencedError)) fencedWrite("candles", error);
        o.count("candles.standby_skipped", c.length);
        return 0;
      }
    },
    start() {
      cadence.start();
    },
    drain,
    async close(timeoutMs) {
      cadence.stop();
      const empty = lease.grant === null ? buffer.empty : await drain(timeoutMs);
      if (lease.grant === null && !buffer.empty) {
        // The holder writes these seconds from what it received: not lost.
        o.log.info("Stopped as a standby, {rows} price rows of {symbol} retained", {
          rows: buffer.pending,
          symbol: o.symbol,
        });
      } else if (!empty) {
        o.count("rows.lost_at_stop", buffer.pending);
        o.log.error("Stopped with {rows} price rows of {symbol} unwritten", {
          rows: buffer.pending,
          symbol: o.symbol,
        });
      }
      await log.close();
      if (o.endSql) await o.sql.end({ timeout: 2 });
    },
    leaseChanged(grant) {
      lease.changed(grant);
      if (grant) cadence.arrived(true);
    },
    async release(timeoutMs) {
      if (!lease.leased) {
        throw new Error(`Cannot release the price log of ${o.symbol}: it is not leased`);
      }
      if (lease.grant !== null) {
        const empty = await drain(timeoutMs);
        if (!empty && lease.grant !== null) {
          throw new Error(
            `Cannot release the price log of ${o.symbol}: ${buffer.pending} rows not written ` +
              `within ${timeoutMs} ms`,
          );
        }
        lease.pause();
        // A pass still in flight finishes under the grant (none starts: the store is paused).
        await cadence.flushOnce();
      }
      return { lastCommittedMs: lastCommittedMs ?? await log.newest(undefined) };
    },
    get pending() {
      return buffer.pending;
    },
    get failing() {
      return cadence.failures > 0;
    },
    get role() {
      return lease.status();
    },
  };
}
