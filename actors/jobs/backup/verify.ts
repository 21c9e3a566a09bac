/**
 * Backup verification, the work of `deno task backup:verify` (commands/backup_verify.ts): restores
 * the newest backup into a scratch database on the same server with a fitting `pg_restore`, counts
 * the rows of every table there and compares them, table by table, with the live database's
 * counts taken in the dump's own snapshot (recorded by the backup job), with the live database's
 * current counts beside them. It checks the file's size and SHA-256 first. The scratch database is
 * always dropped.
 *
 * @module
 */
import { createSql, type Sql } from "../../../lib/db.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { findPgTool, pgEnv, serverVersion } from "../../../lib/pg_tools.ts";
import { fileSha256 } from "./mod.ts";
import { type BackupRow, countRows, newestBackup, type RowCounts } from "./store.ts";

/** One table of the comparison. */
export interface VerifyRow {
  table: string;
  /** Rows in the live database when the dump was taken (its snapshot). */
  atBackup: number | null;
  restored: number | null;
  /** Rows in the live database now (for information: it keeps growing). */
  liveNow: number | null;
  ok: boolean;
}

/** The outcome of {@linkcode verifyBackup}. */
export interface VerifyResult {
  backup: BackupRow;
  rows: VerifyRow[];
  ok: boolean;
}

/** Options of {@linkcode verifyBackup}. */
export interface VerifyOptions {
  /** The live database. */
  sql: Sql;
  /** Its URL (the scratch database is made on the same server). */
  url: string;
  pgBinDirs: readonly string[];
  /** A backup to verify instead of the newest. */
  backup?: BackupRow;
}

/** Compares row counts: `expected` (the dump's snapshot) with `restored`. */
export function compareCounts(
  expected: RowCounts,
  restored: RowCounts,
  liveNow: RowCounts,
): VerifyRow[] {
  const tables = [...new Set([...Object.keys(expected), ...Object.keys(restored)])].sort();
  return tables.map((table) => {
    const atBackup = expected[table] ?? null;
    const got = restored[table] ?? null;
    return {
      table,
      atBackup,
      restored: got,
      liveNow: liveNow[table] ?? null,
      ok: atBackup === got,
    };
  });
}

/** Restores the newest (or given) backup into a scratch database and compares row counts. */
export async function verifyBackup(o: VerifyOptions): Promise<VerifyResult> {
  const backup = o.backup ?? await newestBackup(o.sql);
  if (!backup) throw new ConfigError("Cannot verify a backup: system.backups has no usable backup");
  const file = await fileSha256(backup.path).catch((cause) => {
    throw new Error(`Cannot read backup ${backup.path}: ${cause?.message ?? cause}`, { cause });
  });
  if (file.sha256 !== backup.sha256 || file.sizeBytes !== backup.sizeBytes) {
    throw new Error(
      `Cannot verify backup ${backup.path}: its file does not match system.backups ` +
        `(sha256 ${file.sha256.slice(0, 12)}… vs ${backup.sha256.slice(0, 12)}…, ` +
        `${file.sizeBytes} vs ${backup.sizeBytes} bytes)`,
    );
  }
  const server = await serverVersion(o.sql);
  const tool = await findPgTool("pg_restore", server.major, o.pgBinDirs);
  const scratch = `recio_verify_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await o.sql.unsafe(`create database ${scratch}`);
  try {
    const out = await new Deno.Command(tool.path, {
      // The name only: host, user and password come from the environment.
      args: [
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--no-password",
        `--dbname=${scratch}`,
        backup.path,
      ],
      env: pgEnv(o.url, scratch),
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join(" | ");
      throw new Error(`Cannot restore ${backup.path}: pg_restore exited with ${out.code}: ${err}`);
    }
    const u = new URL(o.url);
    u.pathname = `/${scratch}`;
    const restoredSql = createSql(u.toString(), { max: 1, applicationName: "recio-verify" });
    let restored: RowCounts;
    try {
      restored = await countRows(restoredSql);
    } finally {
      await restoredSql.end({ timeout: 5 });
    }
    const liveNow = await countRows(o.sql);
    const rows = compareCounts(backup.rowCounts ?? liveNow, restored, liveNow);
    return { backup, rows, ok: rows.every((r) => r.ok) };
  } finally {
    await o.sql.unsafe(`drop database if exists ${scratch} with (force)`);
  }
}

/** The comparison as a plain-text table. */
export function formatVerifyTable(rows: readonly VerifyRow[]): string {
  const head = ["table", "at backup", "restored", "live now", ""];
  const body = rows.map((r) => [
    r.table,
    String(r.atBackup ?? "-"),
    String(r.restored ?? "-"),
    String(r.liveNow ?? "-"),
    r.ok ? "ok" : "MISMATCH",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
