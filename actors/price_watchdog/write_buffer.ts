/**
 * The price store's buffer: rows, gap records and the drop record waiting to be written, in
 * arrival order. Bounded: beyond `limit` rows the oldest are dropped, never those a write in
 * flight holds, and summed into one drop record (count, first and last second) that is written
 * with the next batch. A batch is taken, then either committed (taken off) or released (kept
 * for the next try). Pure data: no SQL, no timers ({@linkcode FlushCadence} drives it).
 *
 * A warm standby (cluster mode) keeps its rows here too, as a retention of the newest `limit`
 * seconds: pushed with `retain`, the oldest beyond the limit are trimmed without a drop record
 * (another node writes them), and so are gap records that end before the oldest row kept. On
 * takeover {@linkcode WriteBuffer.discardThrough} removes what the other node already committed.
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
  /** Rows and gap records at the head held by a write in flight (never dropped). */
  #inflight = 0;
  #inflightGaps = 0;

  /** Keeps at most `limit` rows. */
  constructor(readonly limit: number) {}

  /**
   * Appends a row; returns how many of the oldest were dropped to make room (0 mostly). With
   * `retain` (a standby) they are trimmed instead: no drop record, older gap records go too.
   */
  push(row: PriceRow, retain = false): number {
    this.#rows.push(row);
    const over = this.#rows.length - this.limit;
    if (over <= 0) return 0;
    // Never drop rows a write in flight holds; drop the oldest after them.
    const dropped = this.#rows.splice(this.#inflight, over);
    if (retain) {
      const oldest = this.#rows[0]!.secondMs;
      const held = this.#gaps.slice(0, this.#inflightGaps);
      this.#gaps = [...held, ...this.#gaps.slice(held.length).filter((g) => g.toMs >= oldest)];
      return dropped.length;
    }
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
    this.#inflightGaps = this.#gaps.length;
    return { rows, gaps: this.#gaps.slice(), drop: this.#drop };
  }

  /** The batch was written: takes it off (rows dropped meanwhile stay on record). */
  commit(batch: Batch): void {
    this.#inflight = 0;
    this.#inflightGaps = 0;
    this.#rows.splice(0, batch.rows.length);
    this.#gaps.splice(0, batch.gaps.length);
    if (batch.drop === this.#drop) this.#drop = null;
    else if (this.#drop && batch.drop) this.#drop.n -= batch.drop.n;
  }

  /** The batch was not written: everything stays for the next try. */
  release(): void {
    this.#inflight = 0;
    this.#inflightGaps = 0;
  }

  /**
   * Takes off the rows at or before `newestMs` and the gap records that end by then (committed or
   * covered by another node: a takeover); returns how many of each. Not while a write is in flight.
   */
  discardThrough(newestMs: number): { rows: number; gaps: number } {
    if (this.#inflight > 0 || this.#inflightGaps > 0) {
      throw new Error("Cannot discard buffered rows while a write holds them");
    }
    const rows = this.#rows.length;
    const gaps = this.#gaps.length;
    this.#rows = this.#rows.filter((r) => r.secondMs > newestMs);
    this.#gaps = this.#gaps.filter((g) => g.toMs > newestMs);
    return { rows: rows - this.#rows.length, gaps: gaps - this.#gaps.length };
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
