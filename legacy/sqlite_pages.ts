/**
 * Reads a SQLite table in `(column, rowid)` order a page at a time, each row an array, for the
 * large legacy tables (a per-second price log holds tens of millions of rows). node:sqlite pays
 * per row for `iterate()` and for building row objects: one `all()` of 10,000 array rows costs a
 * fraction of that (a profile of a 300 k-row price log: about 0.4 s against 1.7 s). Memory stays
 * one page, whatever the table's size.
 *
 * When an index serves that order (the `timestamp` primary key of a price log), pages are read by
 * key ("seek after the last row of the page before"); otherwise SQLite sorts the table once and
 * the sorted rows are cut into pages. NULLs of the column come first, as in `order by`.
 *
 * @example
 * ```ts ignore
 * for (const page of sqlitePages(db, { table: "price_log", column: "timestamp",
 *   select: `rowid, "timestamp", price` })) console.log(page.length);
 * ```
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** Rows per page. */
export const PAGE_ROWS = 1000;

/** Options of {@linkcode sqlitePages}. */
export interface PageOptions {
  table: string;
  /** The ordering column (a code constant). */
  column: string;
  /** Select list whose first two entries are the rowid and `column`. */
  select: string;
  pageRows?: number;
}

type Bindable = number | bigint | string | Uint8Array | null;

/** `stmt` returning arrays (node:sqlite's `setReturnArrays`, missing from its type definitions). */
function arrays(stmt: StatementSync): StatementSync {
  const s = stmt as unknown as { setReturnArrays?: (on: boolean) => void };
  if (typeof s.setReturnArrays === "function") s.setReturnArrays(true);
  return stmt;
}

/** A row as an array, whichever way the statement returned it. */
function asArray(row: unknown): unknown[] {
  return Array.isArray(row) ? row : Object.values(row as Record<string, unknown>);
}

/** Rows of `all()` as arrays (the same array when they are already). */
function page(rows: unknown[]): unknown[][] {
  return rows.length === 0 || Array.isArray(rows[0]) ? rows as unknown[][] : rows.map(asArray);
}

/** Below every rowid (a signed 64-bit integer). */
const MIN_ROWID = -(2n ** 63n);

/** Whether SQLite reads `table` in `(column, rowid)` order from an index, without a sort. */
export function orderIndexed(db: DatabaseSync, table: string, column: string): boolean {
  const plan = db.prepare(
    `explain query plan select rowid from "${table}" where ("${column}", rowid) > (?, ?)
      order by "${column}", rowid limit 1`,
  ).all("", 0) as { detail: string }[];
  return plan.length > 0 && plan.every((p) => !/TEMP B-TREE/i.test(p.detail)) &&
    plan.some((p) => /USING (COVERING )?INDEX/i.test(p.detail));
}

/** The rows of `o.table` in `(o.column, rowid)` order, a page (array of row arrays) at a time. */
export function* sqlitePages(db: DatabaseSync, o: PageOptions): Generator<unknown[][]> {
  const n = o.pageRows ?? PAGE_ROWS;
  const { table, column, select } = o;
  if (!orderIndexed(db, table, column)) {
    const stmt = arrays(db.prepare(
      `select ${select} from "${table}" order by "${column}", rowid`,
    ));
    let rows: unknown[][] = [];
    for (const r of stmt.iterate()) {
      rows.push(asArray(r));
      if (rows.length >= n) {
        yield rows;
        rows = [];
      }
    }
    if (rows.length > 0) yield rows;
    return;
  }
  const nulls = arrays(db.prepare(
    `select ${select} from "${table}" where "${column}" is null and rowid > ? order by rowid
      limit ?`,
  ));
  let after: Bindable = MIN_ROWID;
  for (;;) {
    const rows = page(nulls.all(after, n));
    if (rows.length === 0) break;
    yield rows;
    if (rows.length < n) break;
    after = rows[rows.length - 1]![0] as Bindable;
  }
  const first = arrays(db.prepare(
    `select ${select} from "${table}" where "${column}" is not null order by "${column}", rowid
      limit ?`,
  ));
  const next = arrays(db.prepare(
    `select ${select} from "${table}" where ("${column}", rowid) > (?, ?)
      order by "${column}", rowid limit ?`,
  ));
  let rows = page(first.all(n));
  while (rows.length > 0) {
    yield rows;
    if (rows.length < n) break;
    const last = rows[rows.length - 1]!;
    rows = page(next.all(last[1] as Bindable, last[0] as Bindable, n));
  }
}
