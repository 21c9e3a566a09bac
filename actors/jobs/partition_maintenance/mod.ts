/**
 * `partition_maintenance`: for every table of `live_data` range-partitioned by month, creates
 * the monthly partitions from the current month through `monthsAhead` months ahead, so rows
 * never land in the default partition. Rows that already sit in a default partition and are
 * still inside the retention window get their months created too: `ensure_month_partitions`
 * moves them out of the default in the same transaction, so no row is lost. Older rows stay
 * where they are (retention reports them).
 *
 * @example
 * ```ts ignore
 * const r = await maintainPartitions({ sql, now: Date.now(), monthsAhead: 3, retentionMonths: 36 });
 * console.log(r.created);
 * ```
 *
 * @module
 */
import type { Sql } from "../../../lib/db.ts";
import {
  defaultPartitionRows,
  ensureMonthPartitions,
  monthStartUtc,
  timePartitionedTables,
} from "../_partitions.ts";

/** Options of {@linkcode maintainPartitions}. */
export interface MaintenanceOptions {
  sql: Sql;
  /** Epoch ms. */
  now: number;
  monthsAhead: number;
  retentionMonths: number;
  /** Schema whose tables are maintained (default `live_data`). */
  schema?: string;
}

/** What one run did, per table. */
export interface MaintenanceResult {
  created: number;
  tables: {
    table: string;
    created: number;
    /** Rows left in the default partition afterwards. */
    defaultRows: number;
  }[];
}

/** Creates the partitions ahead (and for in-window rows of the default partition). */
export async function maintainPartitions(o: MaintenanceOptions): Promise<MaintenanceResult> {
  const schema = o.schema ?? "live_data";
  const cutoff = new Date(monthStartUtc(o.now, -o.retentionMonths));
  const to = new Date(monthStartUtc(o.now, o.monthsAhead));
  const result: MaintenanceResult = { created: 0, tables: [] };
  for (const t of await timePartitionedTables(o.sql, schema)) {
    const before = await defaultPartitionRows(o.sql, t, cutoff);
    let from = new Date(monthStartUtc(o.now));
    if (before.oldestFrom && before.oldestFrom < from) from = before.oldestFrom;
    const created = await ensureMonthPartitions(o.sql, t, from, to);
    const after = created > 0 && before.total > 0
      ? (await defaultPartitionRows(o.sql, t, cutoff)).total
      : before.total;
    result.created += created;
    result.tables.push({ table: `${schema}.${t.table}`, created, defaultRows: after });
  }
  return result;
}
