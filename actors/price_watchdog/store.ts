/**
 * The one module owning the price watchdog's SQL: batched, idempotent row writes into
 * `live_data.<sym>_price_log`, a bounded in-order buffer kept while PostgreSQL is unreachable,
 * drop and gap records in `system.ingest_drops` / `system.ingest_gaps`, 1-minute candles in
 * `historical_data.<sym>_ohlc_1m`, and the start-up seed of the in-memory history.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../../lib/clock.ts";
import type { Sql } from "../../lib/db.ts";
import { RateLimitedLog } from "../../lib/log.ts";
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
}

const SYMBOL = /^[a-z][a-z0-9]{0,15}$/;
/** Rows per statement while a backlog of more than maxBatch rows drains. */
const BACKLOG_BATCH = 5_000;

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

  const backlogBatch = Math.max(o.maxBatch, BACKLOG_BATCH);
  const num = (x: number | null) => (x === null ? null : String(x));

  /**
   * One column array per table column, unnested server-side: a single small statement (prepared
   * once, whatever the batch size) instead of a multi-row VALUES list with ten parameters a row.
   * Times travel as epoch milliseconds (int8 parses far faster than timestamp text).
   */
  function columns(batch: readonly PriceRow[]): (string | null)[][] {
    const cols: (string | null)[][] = Array.from({ length: 10 }, () => new Array(batch.length));
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      cols[0]![i] = String(r.secondMs);
      cols[1]![i] = r.price;
      cols[2]![i] = num(r.momentum);
      for (let d = 0; d < 6; d++) cols[3 + d]![i] = num(r.deltas[d] ?? null);
      cols[9]![i] = String(r.receivedMs);
    }
    return cols;
  }

  const rowsFrom = (q: Sql, c: (string | null)[][]) =>
    q`select timestamptz 'epoch' + u.t * interval '1 millisecond' as t, u.p, u.m,
        u.d1, u.d2, u.d3, u.d4, u.d15, u.d30,
        timestamptz 'epoch' + u.r * interval '1 millisecond' as r
      from unnest(${c[0]!}::int8[], ${c[1]!}::numeric[], ${c[2]!}::numeric[], ${c[3]!}::numeric[],
        ${c[4]!}::numeric[], ${c[5]!}::numeric[], ${c[6]!}::numeric[], ${c[7]!}::numeric[],
        ${c[8]!}::numeric[], ${c[9]!}::int8[]) as u(t, p, m, d1, d2, d3, d4, d15, d30, r)`;

  /** Idempotent on "timestamp": rows already stored (or repeated in the batch) are skipped. */
  async function insertRows(q: Sql, batch: readonly PriceRow[]): Promise<void> {
    if (batch.length === 0) return;
    await q`insert into ${priceLog} ("timestamp", price, momentum, delta_1m, delta_2m, delta_3m,
        delta_4m, delta_15m, delta_30m, received_at)
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
          delta_4m, delta_15m, delta_30m, received_at)
        select * from (${rowsFrom(sql, columns(batch))}) as x
        where not exists (select 1 from ${priceLog} as l where l."timestamp" = x.t)`;
    } catch (error) {
      if ((error as { code?: string })?.code !== "23505") throw error;
      await insertRows(sql, batch);
    }
  }

  async function writeBatch(): Promise<boolean> {
    lastFlushStart = o.clock.monotonic();
    // A backlog (after an outage, or rows arriving faster than flushes) drains in larger
    // statements; a live flush holds at most maxBatch rows as before.
    const batch = buf.slice(0, buf.length > o.maxBatch ? backlogBatch : o.maxBatch);
    const gapBatch = gaps.slice();
    const drop = drops;
    inflight = batch.length;
    try {
      if (gapBatch.length === 0 && !drop) {
        // The common case: one statement, one round trip.
        await insertRowsFast(batch);
      } else {
        await sql.begin(async (tx) => {
          await insertRows(tx as unknown as Sql, batch);
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
        });
      }
    } catch (error) {
      failures++;
      o.count("db.write_failed");
      warn.warn("db", "Cannot write {rows} price rows of {symbol}, keeping them: {error}", {
        rows: batch.length,
        symbol: o.symbol,
        error: error instanceof Error ? error.message : String(error),
      });
      return false;
    } finally {
      inflight = 0;
    }
    failures = 0;
    buf.splice(0, batch.length);
    gaps.splice(0, gapBatch.length);
    if (drop === drops) drops = null;
    else if (drops && drop) drops.n -= drop.n;
    o.count("rows.written", batch.length);
    o.gauge("buffer.depth", buf.length);
    if (batch.length > 0) o.onDurable?.(batch);
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
      gaps.push(gap);
      if (running && !flushing && failures === 0) schedule(0);
    },
    async insertCandles(candles) {
      if (candles.length === 0) return 0;
      const values = candles.map((c) => ({
        timestamp: new Date(c.startMs),
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        volume: c.volume,
      }));
      const result = await sql`
        insert into ${ohlc} ${sql(values)} on conflict ("timestamp") do nothing`;
      return result.count;
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
      if (o.endSql) await sql.end({ timeout: 2 });
    },
    get pending() {
      return buf.length;
    },
  };
}
