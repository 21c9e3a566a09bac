/**
 * The SQL of `live_data.<sym>_price_log` and its records: batches of rows through one `unnest`
 * statement (an anti-join insert, ON CONFLICT DO NOTHING inside a transaction or after a unique
 * violation), backlogs through COPY on the bulk pool with its guard and deadline, gap and drop
 * records in `system.ingest_gaps` / `system.ingest_drops`, the savepoint split of a batch
 * PostgreSQL refuses for its data, and the start-up seed. Counting and logging are the caller's
 * (`store.ts`): this module reports what happened.
 *
 * Announcing (`price_notify.ts`): every write that inserts rows sends one `NOTIFY` on
 * `recio_price_<sym>` inside itself (the live statement carries it in the same statement; the
 * transactions send it last), so it is delivered at commit, never for a write that did not commit
 * (a fenced, failed or rolled-back one): payload `{"symbol","timestamp","price","rows"}` of the
 * newest second this write inserted (rows skipped as already stored are not counted; a write that
 * inserts none announces nothing).
 *
 * Fencing (cluster mode, `lib/fence.ts`): every write proves the grant it is given. The single
 * statements (the live flush and its ON CONFLICT retry) carry the fence as a WHERE condition, so
 * a live flush stays one round trip; every transaction (rows with records, COPY, the refusal
 * split) runs the fence first. A stale grant rejects with SQLSTATE RF001 (`isFenced`) and nothing
 * of the batch is written. A grant of `undefined` checks nothing (not leased).
 *
 * @example
 * ```ts ignore
 * const log = new PriceLog({ sql, symbol: "btc", clock, bulk });
 * const outcome = await log.write(buffer.take(500), false, grant);
 * await log.close();
 * ```
 *
 * @module
 */
import type { Clock } from "../../lib/clock.ts";
import type { Sql } from "../../lib/db.ts";
import { isDataError, writeSplitting } from "../../lib/bad_rows.ts";
import { fence, fenceCondition, isFenced, type LeaseGrant } from "../../lib/fence.ts";
import { type Inserted, NONE, PriceNotify } from "./price_notify.ts";
import { copyText, type GapRow, type PriceRow, unnestColumns } from "./store_format.ts";
import type { Batch, DropRecord } from "./write_buffer.ts";

/** What start-up reads back. */
export interface Seed {
  rows: { timeMs: number; price: string }[];
  candles: { startMs: number; close: string }[];
}

/** Options of {@linkcode PriceLog}. */
export interface PriceLogOptions {
  sql: Sql;
  /** Lower-case symbol, already checked (names the tables). */
  symbol: string;
  clock: Clock;
  /** Opens the dedicated pool for COPY drains; this module owns what it opens. */
  bulk?: () => Sql;
  /** Most time one bulk write may take before its pool is discarded (default 10 s). */
  bulkTimeoutMs?: number;
}

/** A row or record PostgreSQL refused for its data and that was left out. */
export interface Refusal {
  /** The price row, when it was one (otherwise a gap or drop record). */
  row?: PriceRow;
  /** What it was, for the log: `row of <ISO time>`, `gap from ...`, `drop record of N rows`. */
  what: string;
  error: unknown;
}

/** What a written batch went through. */
export interface WriteOutcome {
  /** The rows went through COPY. */
  copied: boolean;
  /** Why COPY failed, when it was tried and failed (the batch was written without it). */
  bulkError?: unknown;
  /** Set when PostgreSQL refused the batch for its data and it was split: what was left out. */
  refused?: Refusal[];
  /** Rows this write inserted (and announced; 0: none, nothing announced). */
  inserted: number;
}

/** Rows per chunk of a COPY stream. */
const COPY_CHUNK = 2_000;

/** A table name as a query fragment. */
const table = (sql: Sql, name: string) => sql(name);

/** The price log of one symbol: its SQL, and the bulk pool it opened, if any. */
export class PriceLog {
  #o: PriceLogOptions;
  #sql: Sql;
  #priceLog: ReturnType<typeof table>;
  #ohlc: ReturnType<typeof table>;
  #source: string;
  /** Committed rows are announced on `recio_price_<sym>`. */
  #notify: PriceNotify;
  #bulkTimeoutMs: number;
  /** The open bulk pool, if any. */
  #bulkSql: Sql | undefined;

  constructor(o: PriceLogOptions) {
    this.#o = o;
    this.#sql = o.sql;
    this.#priceLog = table(o.sql, `live_data.${o.symbol}_price_log`);
    this.#ohlc = table(o.sql, `historical_data.${o.symbol}_ohlc_1m`);
    this.#source = `price_watchdog:${o.symbol}`;
    // Throws for a symbol that makes no valid channel name: the store refuses to open.
    this.#notify = new PriceNotify(o.symbol);
    this.#bulkTimeoutMs = o.bulkTimeoutMs ?? 10_000;
  }

  /** The last 32 minutes of rows and candles. */
  async seed(): Promise<Seed> {
    const sql = this.#sql;
    const rows = await sql<{ timestamp: Date; price: string }[]>`
      select "timestamp", price::text as price from ${this.#priceLog}
      where "timestamp" >= (select max("timestamp") from ${this.#priceLog}) - interval '32 minutes'
      order by "timestamp"`;
    const candles = await sql<{ timestamp: Date; close: string }[]>`
      select "timestamp", close::text as close from ${this.#ohlc}
      where "timestamp" >= (select max("timestamp") from ${this.#priceLog}) - interval '32 minutes'
      order by "timestamp"`;
    return {
      rows: rows.map((r) => ({ timeMs: r.timestamp.getTime(), price: r.price })),
      candles: candles.map((c) => ({ startMs: c.timestamp.getTime(), close: c.close })),
    };
  }

  /**
   * The newest committed second (epoch ms, null when the table is empty), read under `grant` (a
   * takeover: rejects with RF001 when the grant is stale).
   */
  async newest(grant: LeaseGrant | undefined): Promise<number | null> {
    const sql = this.#sql;
    const [row] = await sql<{ newest: Date | null }[]>`
      select ${fenceCondition(sql, grant)} as fenced,
        (select max("timestamp") from ${this.#priceLog}) as newest`;
    return row?.newest ? row.newest.getTime() : null;
  }

  /**
   * Writes a batch under `grant`, through COPY when `bulk` (falling back to plain statements),
   * split in savepoints when refused for its data; rejects when the database is unreachable or
   * the grant is stale (RF001), and nothing of the batch is then written.
   */
  async write(batch: Batch, bulk: boolean, grant?: LeaseGrant): Promise<WriteOutcome> {
    const { rows, gaps, drop } = batch;
    let copied = false;
    let bulkError: unknown;
    let inserted = 0;
    try {
      if (bulk) {
        try {
          copied = await this.#bulkWrite(rows, grant);
          if (copied) inserted = rows.length;
        } catch (error) {
          if (isFenced(error)) throw error;
          bulkError = error;
        }
      }
      if (!copied && gaps.length === 0 && !drop) {
        // The common case: one statement (its NOTIFY included), one round trip.
        inserted = (await this.#insertRowsFast(rows, grant)).n;
      } else if (!copied) {
        inserted = await this.#sql.begin(async (tx) => {
          await fence(tx, grant);
          const done = await this.#insertRows(tx as unknown as Sql, rows, undefined, true);
          await this.#recordGapsAndDrops(tx as unknown as Sql, gaps, drop);
          return done.n;
        });
      }
    } catch (error) {
      // A connection error or a fence rejects: the caller keeps the batch.
      if (!isDataError(error)) throw error;
      const split = await this.#writeRefusing(batch, grant);
      return { copied, bulkError, refused: split.refused, inserted: split.inserted };
    }
    return { copied, bulkError, inserted };
  }

  /** Ends the bulk pool, if one is open. */
  async close(): Promise<void> {
    const pool = this.#bulkSql;
    this.#bulkSql = undefined;
    await pool?.end({ timeout: 2 });
  }

  /** The batch as rows of a SELECT; `grant` fences the statement (undefined: no condition). */
  #rowsFrom(q: Sql, c: (string | null)[][], grant?: LeaseGrant) {
    return q`select timestamptz 'epoch' + u.t * interval '1 millisecond' as t, u.p, u.m,
        u.d1, u.d2, u.d3, u.d4, u.d15, u.d30,
        timestamptz 'epoch' + u.r * interval '1 millisecond' as r, u.c
      from unnest(${c[0]!}::int8[], ${c[1]!}::numeric[], ${c[2]!}::numeric[], ${c[3]!}::numeric[],
        ${c[4]!}::numeric[], ${c[5]!}::numeric[], ${c[6]!}::numeric[], ${c[7]!}::numeric[],
        ${c[8]!}::numeric[], ${c[9]!}::int8[], ${c[10]!}::text[]::bool[])
        as u(t, p, m, d1, d2, d3, d4, d15, d30, r, c)
      where ${fenceCondition(q, grant)}`;
  }

  /**
   * Idempotent on "timestamp": rows already stored (or repeated in the batch) are skipped. `grant`
   * fences a statement outside a transaction (a transaction runs its fence first); `announce`
   * sends the NOTIFY of the rows inserted in the same statement.
   */
  async #insertRows(
    q: Sql,
    batch: readonly PriceRow[],
    grant?: LeaseGrant,
    announce = false,
  ): Promise<Inserted> {
    if (batch.length === 0) return NONE;
    return await this.#notify.inserting(
      q,
      q`insert into ${this.#priceLog} ("timestamp", price, momentum, delta_1m, delta_2m,
        delta_3m, delta_4m, delta_15m, delta_30m, received_at, complete)
      ${this.#rowsFrom(q, unnestColumns(batch), grant)}
      on conflict ("timestamp") do nothing
      returning "timestamp", price`,
      announce,
    );
  }

  /**
   * The same outcome as {@linkcode PriceLog.#insertRows} outside a transaction, faster: an
   * anti-join skips stored rows and a plain INSERT avoids ON CONFLICT's speculative insertion
   * (about 1.5x the server-side rate). A unique violation (a row repeated within the batch, or
   * one committed meanwhile by another writer) rolls the statement back; the batch is then
   * written again through ON CONFLICT DO NOTHING. Both statements prove `grant` (an
   * uncorrelated condition: evaluated once, before any row is inserted) and announce the rows
   * they inserted in the same statement.
   */
  async #insertRowsFast(batch: readonly PriceRow[], grant?: LeaseGrant): Promise<Inserted> {
    if (batch.length === 0) return NONE;
    const sql = this.#sql;
    try {
      return await this.#notify.inserting(
        sql,
        sql`insert into ${this.#priceLog} ("timestamp", price, momentum, delta_1m, delta_2m,
          delta_3m, delta_4m, delta_15m, delta_30m, received_at, complete)
        select * from (${this.#rowsFrom(sql, unnestColumns(batch), grant)}) as x
        where not exists (select 1 from ${this.#priceLog} as l where l."timestamp" = x.t)
        returning "timestamp", price`,
        true,
      );
    } catch (error) {
      if ((error as { code?: string })?.code !== "23505") throw error;
      return await this.#insertRows(sql, batch, grant, true);
    }
  }

  /**
   * One backlog batch through COPY on the bulk pool: in one transaction, when no stored row falls
   * within the batch's seconds (and the batch is strictly ascending), the rows are copied straight
   * into the price log; otherwise nothing is written and false tells the caller to use the
   * idempotent path. Races a deadline: on failure or timeout (a COPY the server rejects after its
   * last chunk leaves postgres.js waiting for good) the pool is ended, whatever state its one
   * connection is in, and the error is rethrown for the caller to fall back. Gap and drop records
   * never ride along: a deadline passing while COMMIT is in flight would have the fallback write
   * them twice; rows are idempotent, those records are not. The transaction proves `grant`
   * first; a fence refusal leaves the pool open (its connection is sound) and rejects.
   */
  async #bulkWrite(batch: readonly PriceRow[], grant: LeaseGrant | undefined): Promise<boolean> {
    for (let i = 1; i < batch.length; i++) {
      if (batch[i]!.secondMs <= batch[i - 1]!.secondMs) return false;
    }
    const first = new Date(batch[0]!.secondMs);
    const last = new Date(batch[batch.length - 1]!.secondMs);
    const pool = this.#bulkSql ??= this.#o.bulk!();
    const timeoutMs = this.#bulkTimeoutMs;
    let cancel: (() => void) | undefined;
    const work = pool.begin(async (tx) => {
      await fence(tx, grant);
      const [taken] = await tx`select 1 from ${this.#priceLog}
        where "timestamp" between ${first} and ${last} limit 1`;
      if (taken) return false;
      await this.#copyRows(tx as unknown as Sql, batch);
      // Every row of the batch was copied (none was stored): the newest is the last.
      const newest = batch[batch.length - 1]!;
      await this.#notify.announceCopied(
        tx as unknown as Sql,
        batch.length,
        newest.secondMs,
        newest.price,
      );
      return true;
    });
    const deadline = new Promise<never>((_, reject) => {
      cancel = this.#o.clock.setTimer(
        () => reject(new Error(`bulk write of ${batch.length} rows took over ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([work, deadline]);
    } catch (error) {
      if (isFenced(error)) throw error;
      work.catch(() => {}); // settles (rejected) once its pool is ended below
      this.#bulkSql = undefined;
      await pool.end({ timeout: 0 }).catch(() => {});
      throw error;
    } finally {
      cancel?.();
    }
  }

  /** COPY FROM STDIN, streamed in chunks so the server parses one while the next is formatted. */
  async #copyRows(tx: Sql, batch: readonly PriceRow[]): Promise<void> {
    const w = await tx.unsafe(`copy live_data.${this.#o.symbol}_price_log ("timestamp", price,
        momentum, delta_1m, delta_2m, delta_3m, delta_4m, delta_15m, delta_30m, received_at,
        complete)
      from stdin`).writable();
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
  }

  async #recordGapsAndDrops(
    tx: Sql,
    gapBatch: readonly GapRow[],
    drop: DropRecord | null,
  ): Promise<void> {
    if (gapBatch.length > 0) {
      await tx`insert into system.ingest_gaps ${
        tx(gapBatch.map((g) => ({
          symbol: this.#o.symbol,
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
        values (${this.#source}, ${drop.n}, ${new Date(drop.first)}, ${new Date(drop.last)},
          'buffer_overflow')`;
    }
  }

  /**
   * After PostgreSQL refused a batch for its data: the rows, gaps and drop record again in one
   * transaction, each part in a savepoint, halved down to what PostgreSQL refuses, which is left
   * out; everything else commits at once (so a connection error rolls back all of it, and the
   * caller keeps the whole batch as before). Returns what was left out, once committed.
   */
  async #writeRefusing(
    batch: Batch,
    grant: LeaseGrant | undefined,
  ): Promise<{ refused: Refusal[]; inserted: number }> {
    const refused: Refusal[] = [];
    const drop = batch.drop;
    let done: Inserted = NONE;
    await this.#sql.begin(async (tx) => {
      refused.length = 0;
      done = NONE;
      await fence(tx, grant);
      const inSavepoint = async <T>(write: (q: Sql) => Promise<T>) => {
        return await tx.savepoint((sp) => write(sp as unknown as Sql)) as T;
      };
      await writeSplitting(batch.rows, {
        write: async (rows) => {
          // Summed only once its savepoint is released: a refused part inserted nothing.
          const part = await inSavepoint((q) => this.#insertRows(q, rows));
          if (part.n > 0 && (done.t === null || part.t!.getTime() > done.t.getTime())) {
            done = { n: done.n + part.n, t: part.t, price: part.price };
          } else done = { ...done, n: done.n + part.n };
        },
        onReject: (row, error) =>
          refused.push({ row, what: `row of ${new Date(row.secondMs).toISOString()}`, error }),
      });
      await writeSplitting(batch.gaps, {
        write: (g) => inSavepoint((q) => this.#recordGapsAndDrops(q, g, null)),
        onReject: (g, error) =>
          refused.push({ what: `gap from ${new Date(g.fromMs).toISOString()}`, error }),
      });
      if (drop) {
        await writeSplitting([drop], {
          write: () => inSavepoint((q) => this.#recordGapsAndDrops(q, [], drop)),
          onReject: (d, error) => refused.push({ what: `drop record of ${d.n} rows`, error }),
        });
      }
      // One announcement for the whole split write, sent last in its transaction.
      await this.#notify.announce(tx as unknown as Sql, done);
    });
    return { refused, inserted: done.n };
  }
}
