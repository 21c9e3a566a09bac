/**
 * The COPY path of the legacy import, for parts that offer it (`BulkSpec`: the per-second price
 * logs). Rows are read a page at a time, put in key order (`order.ts`), written as COPY text and
 * hashed for parity (`digest.ts`) as they pass: one read of the source, no row held beyond a page.
 *
 * The rows go in one COPY per calendar month (UTC) of the target, inside the caller's
 * transaction. Before each, the month's partition is created and the target is asked whether it
 * holds any row from the month's first source key to the month's end: when it does not, the rows
 * are copied straight into the target, so they are all new; when it does (a second run, or live
 * rows), they are copied into a temporary table and added with `insert … on conflict do nothing`,
 * which counts what was new. Either way a second run adds nothing.
 *
 * The server parses one page while the next is read and formatted (COPY data is written without
 * waiting, backpressure is awaited before the next page). Each COPY is followed by a one-row query
 * on the same connection: postgres.js never settles the stream of a COPY the server refuses after
 * its last chunk, while the query after it fails at once in the aborted transaction. Any database
 * error on this path is a {@linkcode BulkFailed}: the caller rolls the file back and imports it
 * again through the row path, which splits out and reports a row PostgreSQL refuses.
 *
 * @module
 */
import type { Writable } from "node:stream";
import { setImmediate } from "node:timers";
import type { TransactionSql } from "../lib/db.ts";
import type { Part, ReadContext } from "./_part.ts";
import { copyLine, type SourceDigest, SourceHasher } from "./digest.ts";
import { type Keyed, KeyOrder, type ReadStats } from "./order.ts";

/** A database error on the COPY path; the file is to be imported through the row path. */
export class BulkFailed extends Error {
  override name = "BulkFailed";
}

/** What {@linkcode copyPart} did. */
export interface BulkResult {
  /** Rows added to the target. */
  added: number;
  /** The source side of the parity, hashed on the way. */
  digest: SourceDigest;
}

/**
 * Most characters per write to the COPY stream: a longer string would be made in V8's large-object
 * space, which only a full collection frees, and the heap would grow with the rows read.
 */
const CHUNK_CHARS = 48_000;

/** The temporary table of a month whose target range already holds rows. */
const STAGE = "legacy_import_stage";

/** The canonical UTC text (`YYYY-MM-…Z`) of the first instant of the month after `key`'s. */
export function nextMonth(key: string): string {
  const y = Number(key.slice(0, 4));
  const m = Number(key.slice(5, 7));
  const [ny, nm] = m === 12 ? [y + 1, 1] : [y, m + 1];
  return `${String(ny).padStart(4, "0")}-${String(nm).padStart(2, "0")}-01T00:00:00.000000Z`;
}

/**
 * `p`, marked as observed: a promise that follows `done` rejects with it, and one left behind by
 * a later write (or by a file error that abandons the COPY) must not be an unhandled rejection.
 * Whoever awaits `p` still sees its rejection.
 */
function observed<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * Gives the event loop a turn (after each page). Without one a read of millions of rows runs as
 * one task, V8's garbage collector cannot run its own tasks in between, and the heap grows with the
 * rows read, though nothing is held (a verification of 4 M rows peaked 56 MB above one of 1 M;
 * with this, 11 MB). Not `setTimeout`, which is clamped to 4 ms when nested.
 */
function loopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Wraps a database error of the COPY path. */
function failed(e: unknown): BulkFailed {
  return new BulkFailed(`COPY path failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/** The open COPY of one month: its stream, when it settles, and where it ends. */
interface Segment {
  stream: Writable;
  done: Promise<void>;
  /** Waits for the stream to take more (set after a write it did not take at once). */
  ready: Promise<unknown> | undefined;
  /** Settles once everything written so far has left the stream. */
  flushed: Promise<unknown>;
  /** First key past the month. */
  limit: string;
  staged: boolean;
  rows: number;
}

/** Writes rows in key order through one COPY per month (see the module doc). */
class MonthlyCopy {
  added = 0;
  #tx: TransactionSql;
  #target: string;
  #key: string;
  #names: string;
  #stageSql: string;
  #stageMade = false;
  #open: Segment | undefined;

  constructor(tx: TransactionSql, part: Part) {
    const spec = part.bulk!;
    this.#tx = tx;
    this.#target = part.target;
    this.#key = spec.columns[0]!.name;
    this.#names = spec.columns.map((c) => `"${c.name}"`).join(", ");
    // Made anew for each part (another part of the file may have left one of another shape).
    this.#stageSql = `drop table if exists pg_temp.${STAGE}; create temp table ${STAGE} (${
      spec.columns.map((c) => `"${c.name}" ${c.type}`).join(", ")
    }) on commit drop`;
  }

  /** Writes `rows` (strictly ascending, after every row written before) as their `lines`. */
  async write(rows: readonly Keyed[], lines: readonly string[]): Promise<void> {
    let i = 0;
    while (i < rows.length) {
      if (!this.#open || rows[i]!.key[0]! >= this.#open.limit) {
        await this.close();
        await this.#start(rows[i]!.key[0]!);
      }
      const seg = this.#open!;
      try {
        if (seg.ready) await seg.ready;
        seg.ready = undefined;
        let text = "";
        for (; i < rows.length && rows[i]!.key[0]! < seg.limit; i++) {
          text += lines[i]!;
          seg.rows++;
          if (text.length >= CHUNK_CHARS) {
            this.#send(seg, text);
            text = "";
          }
        }
        if (text.length > 0) this.#send(seg, text);
      } catch (e) {
        throw failed(e);
      }
    }
  }

  /** Hands text to the stream; when it holds more than it wants, the next write waits. */
  #send(seg: Segment, text: string): void {
    let flushed!: () => void;
    seg.flushed = observed(Promise.race([new Promise<void>((r) => flushed = r), seg.done]));
    if (!seg.stream.write(text, () => flushed()) && !seg.ready) {
      seg.ready = observed(
        Promise.race([new Promise((r) => seg.stream.once("drain", r)), seg.done]),
      );
    }
  }

  /** Ends the open COPY and waits until its rows are in the target. */
  async close(): Promise<void> {
    const seg = this.#open;
    if (!seg) return;
    this.#open = undefined;
    const tx = this.#tx;
    try {
      // Ended with nothing buffered, the stream lets the connection go at once (postgres.js
      // refuses any query while a COPY stream holds it), and the query after it can go out.
      await seg.flushed;
      seg.stream.end();
      await tx`select 1`;
      await seg.done;
      if (seg.staged) {
        const r = await tx.unsafe(`insert into ${this.#target} (${this.#names})
          select ${this.#names} from ${STAGE} on conflict do nothing`);
        this.added += r.count;
      } else {
        this.added += seg.rows;
      }
    } catch (e) {
      throw failed(e);
    }
  }

  /** Abandons the open COPY (the server ends it), so the transaction can roll back. */
  abort(error: Error): void {
    const seg = this.#open;
    this.#open = undefined;
    if (seg && !seg.stream.destroyed) seg.stream.destroy(error);
  }

  async #start(first: string): Promise<void> {
    const tx = this.#tx;
    const limit = nextMonth(first);
    let seg: Segment;
    try {
      // `::text`: postgres.js sends a parameter typed timestamptz through a JS Date (milliseconds).
      const [, [row]] = await Promise.all([
        tx`select system.ensure_month_partitions(${this.#target}::regclass,
          ${first}::text::timestamptz, ${first}::text::timestamptz)`,
        tx`select exists (select 1 from ${tx(this.#target)} where ${tx(this.#key)} >=
          ${first}::text::timestamptz and ${tx(this.#key)} < ${limit}::text::timestamptz) as taken`,
      ]);
      const staged = row?.taken === true;
      if (staged) {
        await tx.unsafe(this.#stageMade ? `truncate ${STAGE}` : this.#stageSql);
        this.#stageMade = true;
      }
      const into = staged ? STAGE : this.#target;
      const stream = await tx.unsafe(`copy ${into} (${this.#names}) from stdin`).writable();
      const done = new Promise<void>((resolve, reject) => {
        stream.on("error", reject);
        stream.on("finish", resolve);
      });
      observed(done); // awaited in close(); an early failure must not go unhandled
      seg = { stream, done, ready: undefined, flushed: Promise.resolve(), limit, staged, rows: 0 };
    } catch (e) {
      throw failed(e);
    }
    this.#open = seg;
  }
}

/**
 * Imports the rows of `part` (which has `bulk`) inside `tx` through COPY and hashes them for
 * parity. Row errors that fail a file (a key out of order, a conflicting repeat) are thrown as
 * they are; database errors as {@linkcode BulkFailed}.
 */
export async function copyPart(
  tx: TransactionSql,
  part: Part,
  o: { file: string; ctx: ReadContext },
): Promise<BulkResult> {
  const stats: ReadStats = { duplicates: 0 };
  const order = new KeyOrder(part, o.file, stats);
  const hasher = new SourceHasher();
  const copy = new MonthlyCopy(tx, part);
  const columns = part.bulk!.columns;
  const out: Keyed[] = [];
  const pass = async () => {
    const lines = out.map((r) => copyLine(r.values, columns));
    for (let i = 0; i < out.length; i++) hasher.add(out[i]!, lines[i]!);
    await copy.write(out, lines);
    out.length = 0;
  };
  try {
    for (const page of part.bulk!.pages(o.ctx)) {
      for (const row of page) order.push(row, out);
      await pass();
      await loopTurn();
    }
    order.end(out);
    await pass();
    await copy.close();
  } catch (e) {
    copy.abort(e as Error);
    throw e;
  }
  return { added: copy.added, digest: hasher.digest(stats.duplicates) };
}

/** The source digest of `part` (which has `bulk`) without importing: for a verification. */
export async function digestPart(
  part: Part,
  o: { file: string; ctx: ReadContext },
): Promise<SourceDigest> {
  const stats: ReadStats = { duplicates: 0 };
  const order = new KeyOrder(part, o.file, stats);
  const hasher = new SourceHasher();
  const columns = part.bulk!.columns;
  const out: Keyed[] = [];
  const pass = () => {
    for (const r of out) hasher.add(r, copyLine(r.values, columns));
    out.length = 0;
  };
  for (const page of part.bulk!.pages(o.ctx)) {
    for (const row of page) order.push(row, out);
    pass();
    await loopTurn();
  }
  order.end(out);
  pass();
  return hasher.digest(stats.duplicates);
}
