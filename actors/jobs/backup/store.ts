/**
 * The backup job's queries: its `system.backups` rows, and the row counts of every table in
 * one snapshot (the dump's own, so verification compares like with like).
 *
 * @module
 */
import type { Sql } from "../../../lib/db.ts";

/** Row counts by `schema.table`. */
export type RowCounts = Record<string, number>;

/** A successful backup, as `backup:verify` reads it. */
export interface BackupRow {
  id: string;
  startedAt: Date;
  finishedAt: Date | null;
  path: string;
  sizeBytes: number;
  sha256: string;
  serverVersion: string | null;
  rowCounts: RowCounts | null;
}

/** Inserts the `running` row of a backup; returns its id. */
export async function insertBackup(sql: Sql, startedAt: number): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into system.backups (started_at, kind, status)
    values (${new Date(startedAt)}, 'pg_dump custom', 'running')
    returning id`;
  return row!.id;
}

/** Marks a backup done with its file, size, checksum and the row counts of its snapshot. */
export async function completeBackup(
  sql: Sql,
  id: string,
  b: {
    finishedAt: number;
    path: string;
    sizeBytes: number;
    sha256: string;
    serverVersion: string;
    tool: string;
    rowCounts: RowCounts;
  },
): Promise<void> {
  await sql`
    update system.backups
       set finished_at = ${new Date(b.finishedAt)}, path = ${b.path}, size_bytes = ${b.sizeBytes},
           sha256 = ${b.sha256}, server_version = ${b.serverVersion}, tool = ${b.tool},
           row_counts = ${sql.json(b.rowCounts)}, status = 'ok', error = null
     where id = ${id}`;
}

/** Marks a backup failed. */
export async function failBackup(
  sql: Sql,
  id: string,
  finishedAt: number,
  error: string,
  path: string | null,
): Promise<void> {
  await sql`
    update system.backups
       set finished_at = ${new Date(finishedAt)}, status = 'failed', error = ${error},
           path = ${path}
     where id = ${id}`;
}

/** Records that rotation deleted these files. */
export async function markDeleted(sql: Sql, paths: readonly string[], at: number): Promise<void> {
  if (paths.length === 0) return;
  await sql`
    update system.backups set deleted_at = ${new Date(at)}
     where path = any(${paths as string[]}) and deleted_at is null`;
}

/** The newest successful backup whose file rotation has not deleted. */
export async function newestBackup(sql: Sql): Promise<BackupRow | undefined> {
  const [r] = await sql<
    {
      id: string;
      started_at: Date;
      finished_at: Date | null;
      path: string;
      size_bytes: string;
      sha256: string;
      server_version: string | null;
      row_counts: RowCounts | null;
    }[]
  >`
    select id, started_at, finished_at, path, size_bytes, sha256, server_version, row_counts
      from system.backups
     where status = 'ok' and deleted_at is null and path is not null
     order by started_at desc, id desc
     limit 1`;
  if (!r) return undefined;
  return {
    id: r.id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    path: r.path,
    sizeBytes: Number(r.size_bytes),
    sha256: r.sha256,
    serverVersion: r.server_version,
    rowCounts: r.row_counts,
  };
}

/**
 * Exact row counts of every table with storage (partitions counted one by one) outside the
 * system catalogs, read with `sql` (run it inside the snapshot that matters).
 */
export async function countRows(sql: Sql): Promise<RowCounts> {
  const tables = await sql<{ schema: string; table: string }[]>`
    select n.nspname as schema, c.relname as table
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema')
       and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
     order by 1, 2`;
  const counts: RowCounts = {};
  for (const t of tables) {
    const [row] = await sql<{ n: string }[]>`
      select count(*) as n from ${sql(t.schema)}.${sql(t.table)}`;
    counts[`${t.schema}.${t.table}`] = Number(row?.n ?? 0);
  }
  return counts;
}
