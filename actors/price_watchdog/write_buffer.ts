/**
 * The price store's buffer: rows, gap records and the drop record waiting to be written, in
 * arrival order. Bounded: beyond `limit` rows the oldest are dropped, never those a write in
 * flight holds, and summed into one drop record (count, first and last second) that is written
 * with the next batch. A batch is taken, then either committed (taken off) or released (kept
 * for the next try). Pure data: no SQL, no timers ({@linkcode FlushCadence} drives it).
 *
 * @example
 * ```ts
 * import { WriteBuffer } from "./write_buffer.ts";
 * const buffer = new WriteBuffer(2);
 * const row = (s: number) => ({
 *   secondMs: s * 1000,
 *   price: "1",
 *   receivedMs: s * 1000,
 *   momentum: null,
 *   deltas: [null, null, null, null, null, null] as [null, null, null, null, null, null],
 * });
 * for (const s of [1, 2, 3]) buffer.push(row(s));
 * const batch = buffer.take(10);
 * console.log(batch.rows.length, batch.drop); // 2 { n: 1, first: 1000, last: 1000 }
 * buffer.commit(batch);
 * console.log(buffer.empty); // true
 * ```
 *
 * @module
 */
import type { GapRow, PriceRow } from "./store_format.ts";

/** Rows dropped from a full buffer, written as one `system.ingest_drops` record. */
export interface DropRecord {
  n: number;
  /** The first and the last dropped second (epoch ms). */
  first: number;
  last: number;
}

/** What one write takes: the oldest rows, every gap record, the drop record. */
export interface Batch {
  rows: readonly PriceRow[];
  gaps: readonly GapRow[];
  drop: DropRecord | null;
}

/** The bounded, in-order buffer of one price store. */
export class WriteBuffer {
  #rows: PriceRow[] = [];
  #gaps: GapRow[] = [];
  #drop: DropRecord | null = null;
  /** Rows at the head held by a write in flight (never dropped). */
  #inflight = 0;

  /** Keeps at most `limit` rows. */
  constructor(readonly limit: number) {}

  /** Appends a row; returns how many of the oldest were dropped to make room (0 mostly). */
  push(row: PriceRow): number {
    this.#rows.push(row);
    const over = this.#rows.length - this.limit;
    if (over <= 0) return 0;
    // Never drop rows a write in flight holds; drop the oldest after them.
    const dropped = this.#rows.splice(this.#inflight, over);
    const first = dropped[0]!.secondMs;
    const last = dropped[dropped.length - 1]!.secondMs;
    this.#drop = this.#drop
      ? { n: this.#drop.n + dropped.length, first: this.#drop.first, last }
      : { n: dropped.length, first, last };
    return dropped.length;
  }

  /** Appends a gap record. */
  pushGap(gap: GapRow): void {
    this.#gaps.push(gap);
  }

  /** The oldest `size` rows with every gap record and the drop record, held until settled. */
  take(size: number): Batch {
    const rows = this.#rows.slice(0, size);
    this.#inflight = rows.length;
    return { rows, gaps: this.#gaps.slice(), drop: this.#drop };
  }

  /** The batch was written: takes it off (rows dropped meanwhile stay on record). */
  commit(batch: Batch): void {
    this.#inflight = 0;
    this.#rows.splice(0, batch.rows.length);
    this.#gaps.splice(0, batch.gaps.length);
    if (batch.drop === this.#drop) this.#drop = null;
    else if (this.#drop && batch.drop) this.#drop.n -= batch.drop.n;
  }

  /** The batch was not written: everything stays for the next try. */
  release(): void {
    this.#inflight = 0;
  }

  /** Rows waiting. */
  get pending(): number {
    return this.#rows.length;
  }

  /** Whether gap or drop records wait. */
  get hasRecords(): boolean {
    return this.#gaps.length > 0 || this.#drop !== null;
  }

  /** Nothing waits: no row, no gap record, no drop record. */
  get empty(): boolean {
    return this.#rows.length === 0 && !this.hasRecords;
  }
}
