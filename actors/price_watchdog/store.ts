/**
 * The one module owning the price watchdog's SQL: batched, idempotent row writes into
 * `live_data.<sym>_price_log`, a bounded in-order buffer kept while PostgreSQL is unreachable,
 * drop and gap records in `system.ingest_drops` / `system.ingest_gaps`, 1-minute candles in
 * `historical_data.<sym>_ohlc_1m`, and the start-up seed of the in-memory history.
 *
 * Live flushes (a few rows every 250 ms) are one `unnest` statement. A backlog (after an outage,
 * or rows arriving faster than flushes) drains through COPY on a dedicated single-connection pool
 * when the caller provides one (`bulk`): straight into the price log when no stored row falls
 * within the batch's seconds, otherwise (a replay) through the idempotent unnest path. Rows are
 * checked on enqueue (including the rounding into numeric(20, 8) and numeric(10, 6)), so COPY
 * cannot meet a value the table refuses. A bulk write that fails or does not finish in
 * `bulkTimeoutMs` discards that pool and is written again through the unnest path: rows are never
 * lost or doubled on the way.
 *
 * One bad row never stalls the store: should PostgreSQL still refuse a batch for its data (SQLSTATE
 * class 22 or 23, e.g. a constraint the checks do not know), the batch with its gap and drop
 * records is written again in one transaction, each part in a savepoint, halved down to the rows
 * it refuses (`lib/bad_rows.ts`): those are dropped, counted (`rows.rejected`,
 * `records.rejected`) and logged with their reason (rate-limited), every other row commits. This
 * path runs only after such a failure. A connection error still keeps everything buffered.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../../lib/clock.ts";
import type { Sql } from "../../lib/db.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import { cleanText, isDataError, rejectionReason, writeSplitting } from "../../lib/bad_rows.ts";
import type { Deltas } from "./momentum.ts";

/** A finished per-second row. */
export interface PriceRow {
  /** Start of the second (exchange time, epoch ms). */
  secondMs: number;
  /** Decimal string as the venue sent it. */
  price: string;
  /** Local receive time of the frame that set the price. */
  receivedMs: number;
  momentum: number | null;
  deltas: Deltas;
  /**
   * False when the second's last trade may be missing (a feed break covered part of it, or it was
   * written before the second was seen to end); absent or true when complete.
   */
  complete?: boolean;
}

/** A 1-minute candle (prices as decimal strings). */
export interface CandleRow {
  startMs: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

/** A feed gap of more than 5 s. */
export interface GapRow {
  fromMs: number;
  toMs: number;
  cause: string;
  backfilled?: boolean;
}

/** What start-up reads back. */
export interface Seed {
  rows: { timeMs: number; price: string }[];
  candles: { startMs: number; close: string }[];
}

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
/** Rows per chunk of a COPY stream. */
const COPY_CHUNK = 2_000;
/** A price as the table takes it: numeric(20, 8), positive. */
const PRICE = /^\d{1,12}(\.\d{1,20})?$/;
/** Deltas and momentum are numeric(10, 6): |x| rounded to 6 decimals < 10^4. */
const PERCENT_LIMIT = 9_999.999_999_5;
/** Most characters of a gap's cause. */
const CAUSE_CHARS = 200;

/** Why {@linkcode checkRow} refuses a row, or null when the row can be written. */
export function checkRow(row: PriceRow): string | null {
  if (!inYears(row.secondMs) || row.secondMs % 1000 !== 0) {
    return `second ${row.secondMs} is not a whole second of the years 2000-9999 in epoch ms`;
  }
  if (!inYears(row.receivedMs)) {
    return `receive time ${row.receivedMs} is not epoch ms of the years 2000-9999`;
  }
  const n = Number(row.price);
  if (!PRICE.test(row.price) || !(n > 0)) {
    return `price ${JSON.stringify(row.price)} does not fit numeric(20, 8) > 0`;
  }
  // Only prices near either end can round out of numeric(20, 8): to 0 (the price > 0 check) or
  // to 10^12 (an overflow). The exact test runs for those alone.
  if ((n < 1e-8 || n >= 999_999_999_999.99) && roundsOut(row.price)) {
    return `price ${row.price} rounds out of numeric(20, 8) > 0`;
  }
  return null;
}

/** Whether a price of {@linkcode PRICE} rounds (half away from zero) to 0 or to 10^12 at 8 decimals. */
function roundsOut(price: string): boolean {
  const dot = price.indexOf(".");
  const int = (dot < 0 ? price : price.slice(0, dot)).replace(/^0+/, "");
  const frac = dot < 0 ? "" : price.slice(dot + 1);
  const head = frac.slice(0, 8);
  const up = frac.length > 8 && frac.charCodeAt(8) >= 53; // the 9th decimal is 5-9
  if (int === "" && /^0*$/.test(head) && !up) return true;
  return int === "999999999999" && head === "99999999" && up;
}

const YEAR_2000 = Date.UTC(2000, 0, 1);
const YEAR_10000 = Date.UTC(10000, 0, 1);

function inYears(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= YEAR_2000 && ms < YEAR_10000;
}

/** Epoch ms (a fraction allowed) of the years 2000-9999, which timestamptz stores. */
function storable(ms: number): boolean {
  return Number.isFinite(ms) && ms >= YEAR_2000 && ms < YEAR_10000;
}

/**
 * Epoch ms (years 2000-9999) to ISO 8601 UTC with milliseconds, e.g. `2026-01-01T00:01:05.250Z`,
 * caching the `YYYY-MM-DDTHH:MM:` prefix of the last minute seen.
 */
export function isoFormatter(): (ms: number) => string {
  let minute = Number.NaN;
  let prefix = "";
  return (ms) => {
    const m = Math.floor(ms / 60_000);
    if (m !== minute) {
      minute = m;
      prefix = new Date(m * 60_000).toISOString().slice(0, 17);
    }
    const rest = ms - m * 60_000;
    const sec = Math.floor(rest / 1000);
    const milli = rest - sec * 1000;
    return `${prefix}${sec < 10 ? "0" : ""}${sec}.${
      milli < 10 ? "00" : milli < 100 ? "0" : ""
    }${milli}Z`;
  };
}

/** Null, or a finite percent within numeric(10, 6). */
function percentOk(x: number | null | undefined): boolean {
  return x === null || x === undefined || (Number.isFinite(x) && Math.abs(x) < PERCENT_LIMIT);
}

/** Builds the store of one symbol. */
export function createPriceStore(o: PriceStoreOptions): PriceStore {
  if (!SYMBOL.test(o.symbol)) {
    throw new Error(`Cannot open the price store: symbol "${o.symbol}" is not [a-z][a-z0-9]*`);
  }
  if (o.maxBatch > o.bufferRows) {
    throw new Error(`Cannot open the price store: maxBatch ${o.maxBatch} > bufferRows`);
  }
  const sql = o.sql;
  const priceLog = sql(`live_data.${o.symbol}_price_log`);
  const ohlc = sql(`historical_data.${o.symbol}_ohlc_1m`);
  const source = `price_watchdog:${o.symbol}`;
  const warn = new RateLimitedLog(o.log, {
    perWindow: 3,
    windowMs: 60_000,
    now: () => o.clock.now(),
  });
  const buf: PriceRow[] = [];
  const gaps: GapRow[] = [];
  let drops: { n: number; first: number; last: number } | null = null;
  let inflight = 0;
  let flushing: Promise<boolean> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** A zero-delay tick is already pending (rows arriving in a burst re-arm no timer). */
  let immediate = false;
  let running = false;
  let failures = 0;
  let lastFlushStart = 0;
  /** The open bulk pool, if any, and when COPY may be tried again after a failure. */
  let bulkSql: Sql | undefined;
  let bulkAfter = 0;
  const bulkTimeoutMs = o.bulkTimeoutMs ?? 10_000;

  const backlogBatch = Math.max(o.maxBatch, BACKLOG_BATCH);
  const num = (x: number | null) => (x === null ? null : String(x));

  /**
   * One column array per table column, unnested server-side: a single small statement (prepared
   * once, whatever the batch size) instead of a multi-row VALUES list with ten parameters a row.
   * Times travel as epoch milliseconds (int8 parses far faster than timestamp text).
   */
  function columns(batch: readonly PriceRow[]): (string | null)[][] {
    const cols: (string | null)[][] = Array.from({ length: 11 }, () => new Array(batch.length));
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      cols[0]![i] = String(r.secondMs);
      cols[1]![i] = r.price;
      cols[2]![i] = num(r.momentum);
      for (let d = 0; d < 6; d++) cols[3 + d]![i] = num(r.deltas[d] ?? null);
      cols[9]![i] = String(r.receivedMs);
      // Sent as text[] (cast server-side): postgres.js writes a bool[] element as `x === true`.
      cols[10]![i] = r.complete === false ? "f" : "t";
    }
    return cols;
  }

  const rowsFrom = (q: Sql, c: (string | null)[][]) =>
    q`select timestamptz 'epoch' + u.t * interval '1 millisecond' as t, u.p, u.m,
        u.d1, u.d2, u.d3, u.d4, u.d15, u.d30,
        timestamptz 'epoch' + u.r * interval '1 millisecond' as r, u.c
      from unnest(${c[0]!}::int8[], ${c[1]!}::numeric[], ${c[2]!}::numeric[], ${c[3]!}::numeric[],
        ${c[4]!}::numeric[], ${c[5]!}::numeric[], ${c[6]!}::numeric[], ${c[7]!}::numeric[],
        ${c[8]!}::numeric[], ${c[9]!}::int8[], ${c[10]!}::text[]::bool[])
        as u(t, p, m, d1, d2, d3, d4, d15, d30, r, c)`;

  /** Idempotent on "timestamp": rows already stored (or repeated in the batch) are skipped. */
  async function insertRows(q: Sql, batch: readonly PriceRow[]): Promise<void> {
    if (batch.length === 0) return;
    await q`insert into ${priceLog} ("timestamp", price, momentum, delta_1m, delta_2m, delta_3m,
        delta_4m, delta_15m, delta_30m, received_at, complete)
      ${rowsFrom(q, columns(batch))}
      on conflict ("timestamp") do nothing`;
  }

  /**
   * The same outcome as {@linkcode insertRows} outside a transaction, faster: an anti-join skips
   * stored rows and a plain INSERT avoids ON CONFLICT's speculative insertion (about 1.5x the
   * server-side rate). A unique violation (a row repeated within the batch, or one committed
   * meanwhile by another writer) rolls the statement back; the batch is then written again through
   * ON CONFLICT DO NOTHING.
   */
  async function insertRowsFast(batch: readonly PriceRow[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await sql`insert into ${priceLog} ("timestamp", price, momentum, delta_1m, delta_2m, delta_3m,
          delta_4m, delta_15m, delta_30m, received_at, complete)
        select * from (${rowsFrom(sql, columns(batch))}) as x
        where not exists (select 1 from ${priceLog} as l where l."timestamp" = x.t)`;
    } catch (error) {
      if ((error as { code?: string })?.code !== "23505") throw error;
      await insertRows(sql, batch);
    }
  }

  /**
   * The rows as COPY text. No field needs escaping: enqueue admits only whole-second times in
   * years 2000-9999, prices of digits and one dot, and finite numbers (digits, ".", "-", "e",
   * "+"); null is \\N. Times are ISO 8601 built from a per-minute prefix (toISOString for every
   * row would cost as much as the COPY itself).
   */
  function copyText(batch: readonly PriceRow[], from: number, to: number): string {
    const lines = new Array<string>(to - from);
    const field = (x: number | null | undefined) => (x === null || x === undefined ? "\\N" : x);
    const second = isoFormatter();
    const received = isoFormatter();
    for (let i = from; i < to; i++) {
      const r = batch[i]!;
      const d = r.deltas;
      lines[i - from] = `${second(r.secondMs)}\t${r.price}\t${field(r.momentum)}\t${field(d[0])}\t${
        field(d[1])
      }\t${field(d[2])}\t${field(d[3])}\t${field(d[4])}\t${field(d[5])}\t${
        received(r.receivedMs)
      }\t${r.complete === false ? "f" : "t"}\n`;
    }
    return lines.join("");
  }

  /**
   * One backlog batch through COPY on the bulk pool: in one transaction, when no stored row falls
   * within the batch's seconds (and the batch is strictly ascending), the rows are copied straight
   * into the price log; otherwise nothing is written and false tells the caller to use the
   * idempotent path. Races a deadline: on failure or timeout (a COPY the server rejects after its
   * last chunk leaves postgres.js waiting for good) the pool is ended, whatever state its one
   * connection is in, and the error is rethrown for the caller to fall back. Gap and drop records
   * never ride along: a deadline passing while COMMIT is in flight would have the fallback write
   * them twice; rows are idempotent, those records are not.
   */
  async function bulkWrite(batch: readonly PriceRow[]): Promise<boolean> {
    for (let i = 1; i < batch.length; i++) {
      if (batch[i]!.secondMs <= batch[i - 1]!.secondMs) return false;
    }
    const first = new Date(batch[0]!.secondMs);
    const last = new Date(batch[batch.length - 1]!.secondMs);
    const pool = bulkSql ??= o.bulk!();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const work = pool.begin(async (tx) => {
      const [taken] = await tx`select 1 from ${priceLog}
        where "timestamp" between ${first} and ${last} limit 1`;
      if (taken) return false;
      const w = await tx.unsafe(`copy live_data.${o.symbol}_price_log ("timestamp", price,
          momentum, delta_1m, delta_2m, delta_3m, delta_4m, delta_15m, delta_30m, received_at,
          complete)
        from stdin`).writable();
      // Streamed in chunks, so the server parses one while the next is formatted.
      let failed = false;
      const done = new Promise<void>((resolve, reject) => {
        w.on("error", (e: Error) => {
          failed = true;
          reject(e);
        });
        w.on("finish", resolve);
      });
      const encoder = new TextEncoder();
      for (let i = 0; i < batch.length && !failed; i += COPY_CHUNK) {
        const text = copyText(batch, i, Math.min(batch.length, i + COPY_CHUNK));
        if (!w.write(encoder.encode(text))) {
          await Promise.race([new Promise((r) => w.once("drain", r)), done]);
        }
      }
      w.end();
      await done;
      return true;
    });
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`bulk write of ${batch.length} rows took over ${bulkTimeoutMs} ms`)),
        bulkTimeoutMs,
      );
    });
    try {
      return await Promise.race([work, deadline]);
    } catch (error) {
      work.catch(() => {}); // settles (rejected) once its pool is ended below
      bulkSql = undefined;
      await pool.end({ timeout: 0 }).catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async function recordGapsAndDrops(
    tx: Sql,
    gapBatch: readonly GapRow[],
    drop: typeof drops,
  ): Promise<void> {
    if (gapBatch.length > 0) {
      await tx`insert into system.ingest_gaps ${
        tx(gapBatch.map((g) => ({
          symbol: o.symbol,
          gap_from: new Date(g.fromMs),
          gap_to: new Date(g.toMs),
          cause: g.cause,
          backfilled: g.backfilled ?? false,
        })))
      }`;
    }
    if (drop) {
      await tx`insert into system.ingest_drops
        (source, dropped_rows, first_ts, last_ts, reason)
        values (${source}, ${drop.n}, ${new Date(drop.first)}, ${new Date(drop.last)},
          'buffer_overflow')`;
    }
  }

  /** Backlog batches go through COPY when a bulk pool is configured and not cooling down. */
  function bulkNow(): boolean {
    return o.bulk !== undefined && buf.length > o.maxBatch && gaps.length === 0 && !drops &&
      o.clock.monotonic() >= bulkAfter;
  }

  /**
   * After PostgreSQL refused a batch for its data: the rows, gaps and drop record again in one
   * transaction, each part in a savepoint, halved down to what PostgreSQL refuses, which is left
   * out; everything else commits at once (so a connection error rolls back all of it, and the
   * caller keeps the whole batch as before). Refusals are counted and logged only once committed.
   * Returns the refused price rows.
   */
  async function writeRefusing(
    batch: readonly PriceRow[],
    gapBatch: readonly GapRow[],
    drop: typeof drops,
  ): Promise<Set<PriceRow>> {
    const refused: { row?: PriceRow; what: string; error: unknown }[] = [];
    await sql.begin(async (tx) => {
      refused.length = 0;
      const inSavepoint = async (write: (q: Sql) => Promise<void>) => {
        await tx.savepoint((sp) => write(sp as unknown as Sql));
      };
      await writeSplitting(batch, {
        write: (rows) => inSavepoint((q) => insertRows(q, rows)),
        onReject: (row, error) =>
          refused.push({ row, what: `row of ${new Date(row.secondMs).toISOString()}`, error }),
      });
      await writeSplitting(gapBatch, {
        write: (g) => inSavepoint((q) => recordGapsAndDrops(q, g, null)),
        onReject: (g, error) =>
          refused.push({ what: `gap from ${new Date(g.fromMs).toISOString()}`, error }),
      });
      if (drop) {
        await writeSplitting([drop], {
          write: () => inSavepoint((q) => recordGapsAndDrops(q, [], drop)),
          onReject: (d, error) => refused.push({ what: `drop record of ${d.n} rows`, error }),
        });
      }
    });
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

  /** A failed write (the database unreachable): everything stays buffered for the next try. */
  function writeFailed(rows: number, error: unknown): false {
    failures++;
    o.count("db.write_failed");
    warn.warn("db", "Cannot write {rows} price rows of {symbol}, keeping them: {error}", {
      rows,
      symbol: o.symbol,
      error: error instanceof Error ? error.message : String(error),
    });
    return false;
  }

  async function writeBatch(): Promise<boolean> {
    lastFlushStart = o.clock.monotonic();
    const bulk = bulkNow();
    // A backlog (after an outage, or rows arriving faster than flushes) drains in larger
    // statements; a live flush holds at most maxBatch rows as before.
    const size = bulk ? BULK_BATCH : buf.length > o.maxBatch ? backlogBatch : o.maxBatch;
    const batch = buf.slice(0, size);
    const gapBatch = gaps.slice();
    const drop = drops;
    inflight = batch.length;
    let bulkError: unknown;
    let refused: Set<PriceRow> | undefined;
    try {
      let written = false;
      if (bulk) {
        try {
          written = await bulkWrite(batch);
          if (written) o.count("rows.copied", batch.length);
        } catch (error) {
          bulkError = error;
        }
      }
      if (!written && gapBatch.length === 0 && !drop) {
        // The common case: one statement, one round trip.
        await insertRowsFast(batch);
      } else if (!written) {
        await sql.begin(async (tx) => {
          await insertRows(tx as unknown as Sql, batch);
          await recordGapsAndDrops(tx as unknown as Sql, gapBatch, drop);
        });
      }
    } catch (error) {
      if (!isDataError(error)) return writeFailed(batch.length, error);
      try {
        refused = await writeRefusing(batch, gapBatch, drop);
      } catch (again) {
        return writeFailed(batch.length, again);
      }
    } finally {
      inflight = 0;
    }
    if (bulkError !== undefined && !isDataError(bulkError) && refused === undefined) {
      // COPY failed where plain statements work (not an outage: those fail both and count as
      // db.write_failed): leave COPY alone for a while. When the plain statement was refused for
      // its data too, the rows were at fault, not COPY (which may only have timed out on them):
      // they were split out above, and COPY is used again.
      bulkAfter = o.clock.monotonic() + (o.bulkCoolDownMs ?? 60_000);
      o.count("db.bulk_failed");
      warn.warn(
        "bulk",
        "Bulk write of {rows} price rows of {symbol} failed and was written without COPY: {error}",
        {
          rows: batch.length,
          symbol: o.symbol,
          error: bulkError instanceof Error ? bulkError.message : String(bulkError),
        },
      );
    }
    failures = 0;
    buf.splice(0, batch.length);
    gaps.splice(0, gapBatch.length);
    if (drop === drops) drops = null;
    else if (drops && drop) drops.n -= drop.n;
    const durable = refused?.size ? batch.filter((r) => !refused.has(r)) : batch;
    o.count("rows.written", durable.length);
    o.gauge("buffer.depth", buf.length);
    if (durable.length > 0) o.onDurable?.(durable);
    return true;
  }

  /** One flush pass at a time; resolves true when it wrote (or had nothing to write). */
  function flushOnce(): Promise<boolean> {
    if (flushing) return flushing;
    if (buf.length === 0 && gaps.length === 0 && !drops) return Promise.resolve(true);
    flushing = writeBatch().finally(() => (flushing = undefined));
    return flushing;
  }

  function schedule(delay: number): void {
    if (delay === 0 && immediate && running) return;
    clearTimeout(timer);
    immediate = false;
    if (!running) return;
    immediate = delay === 0;
    timer = setTimeout(tick, delay);
  }

  async function tick(): Promise<void> {
    timer = undefined;
    immediate = false;
    let ok = await flushOnce();
    // Keep writing full batches while they come; back off while the database fails.
    while (ok && running && buf.length >= o.maxBatch) ok = await flushOnce();
    // A fixed cadence: the next flush is due flushMs after this one started, aimed a little early
    // (2 %) so timer lateness never makes a row wait longer than flushMs.
    const due = Math.max(0, o.flushMs * 0.98 - (o.clock.monotonic() - lastFlushStart));
    schedule(ok ? due : Math.min(o.flushMs * 2 ** failures, 2_000));
  }

  return {
    async seed() {
      const rows = await sql<{ timestamp: Date; price: string }[]>`
        select "timestamp", price::text as price from ${priceLog}
        where "timestamp" >= (select max("timestamp") from ${priceLog}) - interval '32 minutes'
        order by "timestamp"`;
      const candles = await sql<{ timestamp: Date; close: string }[]>`
        select "timestamp", close::text as close from ${ohlc}
        where "timestamp" >= (select max("timestamp") from ${priceLog}) - interval '32 minutes'
        order by "timestamp"`;
      return {
        rows: rows.map((r) => ({ timeMs: r.timestamp.getTime(), price: r.price })),
        candles: candles.map((c) => ({ startMs: c.timestamp.getTime(), close: c.close })),
      };
    },
    enqueue(row) {
      // A row the table cannot take would fail its whole batch again and again: refuse it here.
      const bad = checkRow(row);
      if (bad) {
        o.count("rejected.unstorable_row");
        warn.warn("reject", "Refused a price row of {symbol}: {reason}", {
          symbol: o.symbol,
          reason: bad,
        });
        return;
      }
      if (!percentOk(row.momentum) || !row.deltas.every(percentOk)) {
        // The price is good; a percent beyond numeric(10, 6) (or not finite) is stored as null.
        o.count("rows.percent_nulled");
        warn.warn(
          "percent",
          "Price row of {symbol} at {second}: momentum or a delta is out of range, stored as null",
          {
            symbol: o.symbol,
            second: new Date(row.secondMs).toISOString(),
          },
        );
        const fit = (x: number | null) => (percentOk(x) ? x : null);
        row = { ...row, momentum: fit(row.momentum), deltas: row.deltas.map(fit) as Deltas };
      }
      buf.push(row);
      const over = buf.length - o.bufferRows;
      if (over > 0) {
        // Never drop rows a write in flight holds; drop the oldest after them.
        const dropped = buf.splice(inflight, over);
        const first = dropped[0]!.secondMs;
        const last = dropped[dropped.length - 1]!.secondMs;
        drops = drops
          ? { n: drops.n + dropped.length, first: drops.first, last }
          : { n: dropped.length, first, last };
        o.count("rows.dropped", dropped.length);
        warn.warn("drop", "Dropped {n} buffered price rows of {symbol}: buffer full", {
          n: dropped.length,
          symbol: o.symbol,
        });
      }
      o.gauge("buffer.depth", buf.length);
      // Flush at once when a batch is full, or when the last flush is flushMs old (a row
      // arriving after a quiet spell need not wait a whole interval).
      const idle = o.clock.monotonic() - lastFlushStart >= o.flushMs;
      if (running && !flushing && failures === 0 && (buf.length >= o.maxBatch || idle)) {
        schedule(0);
      }
    },
    recordGap(gap) {
      if (!storable(gap.fromMs) || !storable(gap.toMs)) {
        o.count("rejected.unstorable_gap");
        warn.warn("reject", "Refused a gap record of {symbol}: {from}-{to} is not of 2000-9999", {
          symbol: o.symbol,
          from: gap.fromMs,
          to: gap.toMs,
        });
        return;
      }
      gaps.push({ ...gap, cause: cleanText(gap.cause, CAUSE_CHARS) });
      if (running && !flushing && failures === 0) schedule(0);
    },
    async insertCandles(candles) {
      const values = [];
      for (const c of candles) {
        if (!inYears(c.startMs)) {
          o.count("rejected.unstorable_candle");
          continue;
        }
        values.push({
          timestamp: new Date(c.startMs),
          open: c.open,
          high: c.high,
          low: c.low,
          close: c.close,
          volume: c.volume,
        });
      }
      // A candle PostgreSQL refuses (a volume beyond numeric(20, 8)) is dropped alone, counted.
      let inserted = 0;
      await writeSplitting(values, {
        write: async (part) => {
          const result = await sql`
            insert into ${ohlc} ${sql(part)} on conflict ("timestamp") do nothing`;
          inserted += result.count;
        },
        onReject: (c, error) => {
          o.count("candles.rejected");
          warn.warn("refused", "Candle of {symbol} at {minute} refused by PostgreSQL: {reason}", {
            symbol: o.symbol,
            minute: c.timestamp.toISOString(),
            reason: rejectionReason(error),
          });
        },
      });
      return inserted;
    },
    start() {
      running = true;
      lastFlushStart = o.clock.monotonic();
      schedule(o.flushMs);
    },
    async drain(timeoutMs) {
      // Bounded by attempts, not by the clock seam: a test's manual clock does not move.
      let waits = Math.ceil(timeoutMs / 100);
      for (;;) {
        const ok = await flushOnce();
        if (buf.length === 0 && gaps.length === 0 && !drops) return true;
        if (!ok && waits-- <= 0) return false;
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close(timeoutMs) {
      running = false;
      clearTimeout(timer);
      const empty = await this.drain(timeoutMs);
      if (!empty) {
        o.count("rows.lost_at_stop", buf.length);
        o.log.error("Stopped with {rows} price rows of {symbol} unwritten", {
          rows: buf.length,
          symbol: o.symbol,
        });
      }
      const pool = bulkSql;
      bulkSql = undefined;
      await pool?.end({ timeout: 2 });
      if (o.endSql) await sql.end({ timeout: 2 });
    },
    get pending() {
      return buf.length;
    },
    get failing() {
      return failures > 0;
    },
  };
}
