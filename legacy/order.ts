/**
 * Puts a part's canonical rows in strict key order, as both the import and the parity read them:
 * consecutive rows of one group (a fall-back hour, whose ET text order is not its UTC order) are
 * sorted by key, an identical repeated row is skipped (counted), a conflicting repeat or a key out
 * of order is a row error naming the file, which fails the file. Synchronous and push-based, so a
 * reader that yields a page of rows at a time pays no promise per row.
 *
 * @example
 * ```ts ignore
 * const order = new KeyOrder(part, file, stats);
 * const out: Keyed[] = [];
 * for (const row of page) order.push(row, out);
 * order.end(out); // out holds every row, in key order
 * ```
 *
 * @module
 */
import { badRow, compareKeys, type Part, type SourceRow } from "./_part.ts";

/** A canonical row with its key (`part.keyOf(values)`). */
export type Keyed = SourceRow & { key: string[] };

/** Counters collected while reading a source. */
export interface ReadStats {
  /** Identical rows repeated under one key in the legacy file (imported once). */
  duplicates: number;
}

/** Whether two value lists are equal, value by value. */
export function sameValues(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The ordering state of one part's rows; see the module doc. */
export class KeyOrder {
  #part: Pick<Part, "keyOf">;
  #file: string;
  #stats: ReadStats;
  #prev: Keyed | undefined;
  #buffer: Keyed[] = [];
  #group: string | undefined;

  constructor(part: Pick<Part, "keyOf">, file: string, stats: ReadStats) {
    this.#part = part;
    this.#file = file;
    this.#stats = stats;
  }

  /** Takes the next row as read; appends to `out` the rows now known to come next. */
  push(row: SourceRow, out: Keyed[]): void {
    const keyed = row as Keyed;
    keyed.key = this.#part.keyOf(row.values);
    if (row.group !== undefined && row.group === this.#group) {
      this.#buffer.push(keyed);
      return;
    }
    this.#flush(out);
    this.#group = row.group;
    if (row.group === undefined) this.#emit(keyed, out);
    else this.#buffer.push(keyed);
  }

  /** After the last row: appends the rows still held. */
  end(out: Keyed[]): void {
    this.#flush(out);
  }

  #flush(out: Keyed[]): void {
    if (this.#buffer.length === 0) return;
    const rows = this.#buffer.sort((a, b) => compareKeys(a.key, b.key));
    this.#buffer = [];
    for (const r of rows) this.#emit(r, out);
  }

  #emit(row: Keyed, out: Keyed[]): void {
    const prev = this.#prev;
    if (prev) {
      const c = compareKeys(row.key, prev.key);
      if (c === 0) {
        if (sameValues(row.values, prev.values)) {
          this.#stats.duplicates++;
          return;
        }
        throw badRow(this.#file, row.ref, `repeats key ${row.key.join(" ")} with other values`);
      }
      if (c < 0) {
        throw badRow(this.#file, row.ref, `is out of key order (after ${prev.key.join(" ")})`);
      }
    }
    this.#prev = row;
    out.push(row);
  }
}
