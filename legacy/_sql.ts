/**
 * SQL shared by the legacy store modules: one multi-row insert through `unnest` of typed arrays
 * (one parameter per column, so a 5,000-row batch stays far below the 65,535-parameter limit),
 * and the canonical text forms the parity queries select.
 *
 * @module
 */
import type { Sql, TransactionSql } from "../lib/db.ts";

/** A target column and its PostgreSQL type (a code constant, never input). */
export interface Column {
  name: string;
  type: "timestamptz" | "numeric" | "text" | "boolean" | "bigint" | "int" | "jsonb";
  /** Fraction digits of a numeric(p, s) column (s), which PostgreSQL prints; for the COPY path. */
  scale?: number;
}

type AnySql = Sql | TransactionSql;

/** Canonical UTC text of a timestamptz column (matches `canonical.ts`). */
export function tsText(sql: AnySql, column: string) {
  return sql`to_char(${sql(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Canonical text of a numeric column: no trailing zeros. */
export function numText(sql: AnySql, column: string) {
  return sql`trim_scale(${sql(column)})::text`;
}

/** Canonical text of any other column. */
export function plainText(sql: AnySql, column: string) {
  return sql`${sql(column)}::text`;
}

// deno-lint-ignore no-explicit-any
type Fragment = any;

/** A comma-separated list of fragments. */
export function list(sql: AnySql, parts: Fragment[]): Fragment {
  return parts.reduce((acc, p, i) => (i === 0 ? p : sql`${acc}, ${p}`));
}

/** The canonical select list for `columns` (key columns first, same order as the part). */
export function canonicalSelect(sql: AnySql, columns: readonly Column[]) {
  return list(
    sql,
    columns.map((c) => {
      const expr = c.type === "timestamptz"
        ? tsText(sql, c.name)
        : c.type === "numeric"
        ? numText(sql, c.name)
        : plainText(sql, c.name);
      // Aliased to the column name: unaliased expressions would share one result key.
      return sql`${expr} as ${sql(c.name)}`;
    }),
  );
}

/**
 * Inserts rows with `insert … select * from unnest($1::type[], …) on conflict do nothing`.
 * `pick(row)` returns the values for `columns`. Returns the number of rows added.
 */
export async function insertUnnest<R>(
  tx: TransactionSql,
  target: string,
  columns: readonly Column[],
  rows: readonly R[],
  pick: (row: R) => readonly unknown[],
  options: { overriding?: boolean } = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  const arrays: unknown[][] = columns.map(() => []);
  for (const row of rows) {
    const vals = pick(row);
    for (let i = 0; i < columns.length; i++) {
      const v = vals[i];
      arrays[i]!.push(
        v === undefined || v === null
          ? null
          : columns[i]!.type === "jsonb"
          ? JSON.stringify(v)
          : String(v),
      );
    }
  }
  const names = tx(columns.map((c) => c.name));
  const unnest = list(
    tx,
    columns.map((c, i) => tx`${arrays[i] as string[]}::text[]::${tx.unsafe(c.type)}[]`),
  );
  const over = options.overriding ? tx`overriding system value` : tx``;
  const res = await tx`
    insert into ${tx(target)} (${names}) ${over}
    select * from unnest(${unnest})
    on conflict do nothing`;
  return res.count;
}
