/**
 * The partition store shared by `partition_maintenance` and `retention`: which tables are
 * range-partitioned by month on a `timestamptz` column, their partitions with bounds (the
 * `system.time_partitions` view), the default partition's rows, creating months ahead
 * (`system.ensure_month_partitions`) and dropping whole partitions. Nothing here deletes rows.
 *
 * @module
 */
import type { Sql } from "../../lib/db.ts";

/** A table range-partitioned on one `timestamptz` column. */
export interface TimePartitioned {
  schema: string;
  table: string;
  keyColumn: string;
  /** Name of its default partition, when it has one. */
  defaultPartition: string | null;
}

/** One bounded partition. */
export interface TimePartition {
  schema: string;
  parent: string;
  partition: string;
  rangeFrom: Date;
  rangeTo: Date;
}

/** The first instant (UTC, epoch ms) of the month `offset` months from the month of `ms`. */
export function monthStartUtc(ms: number, offset = 0): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1);
}

/**
 * Name of the monthly partition of `table` holding the instant `ms` (epoch ms), as
 * `system.ensure_month_partitions` names it: `<table>_pYYYYMM` of the UTC month.
 */
export function monthPartitionName(table: string, ms: number): string {
  const d = new Date(ms);
  return `${table}_p${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** Every table of `schema` range-partitioned on one `timestamptz` column. */
export async function timePartitionedTables(sql: Sql, schema: string): Promise<TimePartitioned[]> {
  const rows = await sql<
    { table: string; key_column: string; default_partition: string | null }[]
  >`
    select p.relname as table, a.attname as key_column,
           (select d.relname from pg_inherits i join pg_class d on d.oid = i.inhrelid
             where i.inhparent = p.oid and pg_get_expr(d.relpartbound, d.oid) = 'DEFAULT')
             as default_partition
      from pg_partitioned_table pt
      join pg_class p on p.oid = pt.partrelid
      join pg_namespace n on n.oid = p.relnamespace
      join pg_attribute a on a.attrelid = p.oid and a.attnum = pt.partattrs[0]
     where n.nspname = ${schema} and pt.partstrat = 'r' and pt.partnatts = 1
       and a.atttypid = 'timestamptz'::regtype
       and not p.relispartition
     order by p.relname`;
  return rows.map((r) => ({
    schema,
    table: r.table,
    keyColumn: r.key_column,
    defaultPartition: r.default_partition,
  }));
}

/** Bounded partitions of the tables in `schema` whose whole range ends at or before `before`. */
export async function partitionsEndingBy(
  sql: Sql,
  schema: string,
  before: Date,
): Promise<TimePartition[]> {
  const rows = await sql<
    { parent: string; partition: string; range_from: Date; range_to: Date }[]
  >`
    select parent, partition, range_from, range_to from system.time_partitions
     where parent_schema = ${schema} and not is_default
       and range_from is not null and range_to is not null and range_to <= ${before}
     order by parent, range_from`;
  return rows.map((r) => ({
    schema,
    parent: r.parent,
    partition: r.partition,
    rangeFrom: r.range_from,
    rangeTo: r.range_to,
  }));
}

/** Rows of the default partition, and the oldest key at or after `from` among them. */
export async function defaultPartitionRows(
  sql: Sql,
  t: TimePartitioned,
  from: Date,
): Promise<{ total: number; before: number; oldestFrom: Date | null }> {
  if (!t.defaultPartition) return { total: 0, before: 0, oldestFrom: null };
  const key = sql(t.keyColumn);
  const [row] = await sql<{ total: string; before: string; oldest_from: Date | null }[]>`
    select count(*) as total,
           count(*) filter (where ${key} < ${from}) as before,
           min(${key}) filter (where ${key} >= ${from}) as oldest_from
      from ${sql(t.schema)}.${sql(t.defaultPartition)}`;
  return {
    total: Number(row?.total ?? 0),
    before: Number(row?.before ?? 0),
    oldestFrom: row?.oldest_from ?? null,
  };
}

/** Creates the missing monthly partitions of `t` from the month of `from` through that of `to`. */
export async function ensureMonthPartitions(
  sql: Sql,
  t: TimePartitioned,
  from: Date,
  to: Date,
): Promise<number> {
  const [row] = await sql<{ created: number }[]>`
    select system.ensure_month_partitions(
      (quote_ident(${t.schema}) || '.' || quote_ident(${t.table}))::regclass, ${from}, ${to}
    ) as created`;
  return row?.created ?? 0;
}

/**
 * Drops one partition and records it in `system.partition_drops`, in one transaction. Waits at
 * most `lockTimeoutMs` for the parent's lock, so a busy writer is never blocked for long.
 */
export async function dropPartition(
  sql: Sql,
  p: TimePartition,
  lockTimeoutMs: number,
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`;
    await tx`drop table ${tx(p.schema)}.${tx(p.partition)}`;
    await tx`
      insert into system.partition_drops (parent, partition, range_from, range_to)
      values (${`${p.schema}.${p.parent}`}, ${`${p.schema}.${p.partition}`}, ${p.rangeFrom},
              ${p.rangeTo})`;
  });
}
