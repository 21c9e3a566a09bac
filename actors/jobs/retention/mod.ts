/**
 * `retention`: drops whole monthly partitions of the `live_data` tables whose range ended before
 * the cutoff, the first day of the month `retentionMonths` months before the current one (so at
 * least `retentionMonths` full months are always kept), and records each in
 * `system.partition_drops`. Nothing is deleted row by row, and a default partition is never
 * dropped: when one holds rows older than the cutoff, they are reported instead.
 *
 * @example
 * ```ts ignore
 * const r = await applyRetention({ sql, now: Date.now(), retentionMonths: 36 });
 * console.log(r.dropped.length);
 * ```
 *
 * @module
 */
import type { Sql } from "../../../lib/db.ts";
import {
  defaultPartitionRows,
  dropPartition,
  monthStartUtc,
  partitionsEndingBy,
  timePartitionedTables,
} from "../_partitions.ts";

/** Options of {@linkcode applyRetention}. */
export interface RetentionOptions {
  sql: Sql;
  /** Epoch ms. */
  now: number;
  retentionMonths: number;
  schema?: string;
  /** Longest wait for a table's lock before a drop gives up (default 5 s). */
  lockTimeoutMs?: number;
}

/** What one run dropped and found. */
export interface RetentionResult {
  cutoff: string;
  dropped: { parent: string; partition: string; rangeFrom: string; rangeTo: string }[];
  /** Default partitions holding rows older than the cutoff (never dropped; to look into). */
  defaultExpired: { table: string; rows: number }[];
}

/** The retention cutoff for `now` (epoch ms): partitions ending at or before it are dropped. */
export function retentionCutoff(now: number, retentionMonths: number): number {
  return monthStartUtc(now, -retentionMonths);
}

/** Drops the expired partitions and reports expired rows in default partitions. */
export async function applyRetention(o: RetentionOptions): Promise<RetentionResult> {
  const schema = o.schema ?? "live_data";
  const cutoff = new Date(retentionCutoff(o.now, o.retentionMonths));
  const result: RetentionResult = {
    cutoff: cutoff.toISOString(),
    dropped: [],
    defaultExpired: [],
  };
  for (const p of await partitionsEndingBy(o.sql, schema, cutoff)) {
    await dropPartition(o.sql, p, o.lockTimeoutMs ?? 5_000);
    result.dropped.push({
      parent: `${schema}.${p.parent}`,
      partition: `${schema}.${p.partition}`,
      rangeFrom: p.rangeFrom.toISOString(),
      rangeTo: p.rangeTo.toISOString(),
    });
  }
  for (const t of await timePartitionedTables(o.sql, schema)) {
    const rows = await defaultPartitionRows(o.sql, t, cutoff);
    if (rows.before > 0) {
      result.defaultExpired.push({ table: `${schema}.${t.defaultPartition}`, rows: rows.before });
    }
  }
  return result;
}
