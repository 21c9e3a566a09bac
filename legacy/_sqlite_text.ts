/**
 * The text check every SQLite reader runs on its rows, for what node:sqlite hides: it decodes text
 * that is not valid UTF-8 to U+FFFD (which a valid file may hold too) and ends a text at its first
 * NUL. Two shapes of the same check: {@linkcode sqliteTextCheck} for rows read as arrays (the
 * batched price reader), {@linkcode checkSqliteText} for rows read as objects.
 *
 * @module
 */
import { badRow } from "./_row_error.ts";

/** What the checks need of a SQLite handle. */
interface SqliteHandle {
  prepare(sql: string): {
    get(...params: (number | bigint | string)[]): unknown;
    all(...params: (number | bigint | string)[]): unknown[];
  };
}

/**
 * A check for the rows of one SQLite table: a row holding U+FFFD, or one of the rows found (in one
 * scan, on the first call) to hold a NUL, has its columns read again as bytes and is rejected
 * (`invalid_unicode`, `nul_character`). Called with the row's rowid and its values (any order).
 */
export function sqliteTextCheck(
  db: SqliteHandle,
  table: string,
  columns: Iterable<string>,
  file: string,
): (rowid: number, values: readonly unknown[], ref: string) => void {
  const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const names = [...columns];
  let withNul: Set<number> | undefined;
  let bytesOf: ReturnType<SqliteHandle["prepare"]> | undefined;
  const strict = new TextDecoder("utf-8", { fatal: true });
  const replaced = (values: readonly unknown[]) => {
    for (const v of values) if (typeof v === "string" && v.includes("\uFFFD")) return true;
    return false;
  };
  return (rowid, values, ref) => {
    withNul ??= new Set(
      names.length === 0 ? [] : (db.prepare(
        `select rowid as r from ${q(table)} where ${
          // `c >= ''` holds for text and blobs only (SQLite orders numbers before text) and costs
          // less than typeof(); a blob found here is passed over below.
          names.map((c) => `(${q(c)} >= '' and instr(cast(${q(c)} as blob), x'00') > 0)`)
            .join(" or ")}`,
      ).all() as { r: number }[]).map((x) => Number(x.r)),
    );
    if (!withNul.has(rowid) && !replaced(values)) return;
    bytesOf ??= db.prepare(
      `select ${
        names.map((c, i) => `typeof(${q(c)}) as t${i}, cast(${q(c)} as blob) as c${i}`).join(", ")
      } from ${q(table)} where rowid = ?`,
    );
    const got = (bytesOf.get(rowid) ?? {}) as Record<string, unknown>;
    for (const [i, name] of names.entries()) {
      const b = got[`c${i}`];
      if (got[`t${i}`] !== "text" || !(b instanceof Uint8Array)) continue;
      if (b.includes(0)) {
        throw badRow(file, ref, `${name} contains a NUL character`, "nul_character");
      }
      try {
        strict.decode(b);
      } catch {
        throw badRow(file, ref, `${name} is not valid UTF-8`, "invalid_unicode");
      }
    }
  };
}

/**
 * {@linkcode sqliteTextCheck} for rows read as objects, which must carry their rowid as `_rowid`.
 */
export function checkSqliteText(
  db: SqliteHandle,
  table: string,
  columns: Iterable<string>,
  file: string,
): (row: Record<string, unknown>, ref: string) => void {
  const check = sqliteTextCheck(db, table, columns, file);
  return (row, ref) => check(Number(row._rowid), Object.values(row), ref);
}
