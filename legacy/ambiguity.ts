/**
 * The repeated fall-back hour (01:00–01:59:59 ET on the first Sunday of November) is resolved
 * from the order in which the legacy writer inserted the rows, never guessed: within one such
 * hour, rows are read in rowid order; the wall time runs forward through the first occurrence
 * (EDT), jumps back once when the clocks fall back, and runs forward through the second (EST).
 * Rows before that single backward step are `first`, rows after it `second`. When the rowid
 * order shows no backward step (or more than one), nothing proves which occurrence a row
 * belongs to: the rows stay unresolved and the importer excludes and reports them.
 *
 * @module
 */

/** One row of a fall-back hour: its rowid (insertion order) and its naive ET text. */
export interface FoldEntry {
  id: number;
  text: string;
}

/** Which occurrence of the repeated hour a row belongs to. */
export type Occurrence = "first" | "second";

function wallKey(text: string): string {
  return text.trim().replace(" ", "T");
}

/**
 * Resolves the rows of ONE fall-back hour, given in rowid order. Returns the occurrence of each
 * row id, or an empty map when the order proves nothing.
 */
export function resolveFold(entries: readonly FoldEntry[]): Map<number, Occurrence> {
  let foldAt = -1;
  for (let i = 1; i < entries.length; i++) {
    if (wallKey(entries[i]!.text) < wallKey(entries[i - 1]!.text)) {
      if (foldAt >= 0) return new Map();
      foldAt = i;
    }
  }
  if (foldAt < 0) return new Map();
  return new Map(entries.map((e, i) => [e.id, i < foldAt ? "first" : "second"]));
}

/**
 * Resolves every fall-back hour found among `entries` (any order): entries are grouped by their
 * date, each group is put in rowid order and passed to {@linkcode resolveFold}.
 */
export function resolveAllFolds(
  entries: readonly FoldEntry[],
  isFallBack: (text: string) => boolean,
): Map<number, Occurrence> {
  const byDate = new Map<string, FoldEntry[]>();
  for (const e of entries) {
    if (!isFallBack(e.text)) continue;
    const date = e.text.trim().slice(0, 10);
    let list = byDate.get(date);
    if (!list) byDate.set(date, list = []);
    list.push(e);
  }
  const out = new Map<number, Occurrence>();
  for (const list of byDate.values()) {
    list.sort((a, b) => a.id - b.id);
    for (const [id, occ] of resolveFold(list)) out.set(id, occ);
  }
  return out;
}
