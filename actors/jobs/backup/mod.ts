/**
 * `backup`: a `pg_dump` in custom (compressed) format into the backup folder, recorded in
 * `system.backups` with size, SHA-256, the server version and the row count of every table.
 *
 * The dump and the counts share one snapshot: a repeatable-read transaction exports it
 * (`pg_export_snapshot()`), counts every table in it and holds it open while
 * `pg_dump --snapshot` runs, so `backup:verify` can compare a restore with exactly what the dump
 * holds, while the live system keeps writing. The file is written under a temporary name and
 * renamed only once `pg_dump` succeeded; then rotation deletes old backups (see `rotation.ts`).
 *
 * The `pg_dump` must fit the server's major version (`lib/pg_tools.ts`); when none does, the
 * backup fails with an error naming the version needed. Every failure is a `failed` row with its
 * error, never silent.
 *
 * @example
 * ```ts ignore
 * const r = await runBackup({ sql, databaseUrl, dir: "/srv/recio/backups", pgBinDirs: pgBinDirs(),
 *   keepDaily: 7, keepWeekly: 4, now: () => Date.now() });
 * console.log(r.status, r.details.path);
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Sql } from "../../../lib/db.ts";
import { errorInfo } from "../../../lib/errors.ts";
import { redactText } from "../../../lib/log.ts";
import { findPgTool, pgEnv, serverVersion } from "../../../lib/pg_tools.ts";
import { ensurePrivateDir, ensurePrivateFile } from "../../../lib/private_files.ts";
import type { JobOutcome } from "../_job.ts";
import { backupFileName, backupsToDelete } from "./rotation.ts";
import { completeBackup, countRows, failBackup, insertBackup, markDeleted } from "./store.ts";

/** Options of {@linkcode runBackup}. */
export interface BackupOptions {
  sql: Sql;
  /** URL of the database to dump (its password reaches `pg_dump` only through `PGPASSWORD`). */
  databaseUrl: string;
  /** Absolute folder for the backups. */
  dir: string;
  /** Folders to look for `pg_dump` in (`pgBinDirs()`). */
  pgBinDirs: readonly string[];
  keepDaily: number;
  keepWeekly: number;
  /** Wall clock (epoch ms). */
  now: () => number;
  signal?: AbortSignal;
}

/** Lower-case hex SHA-256 and size of a file, read as a stream. */
export async function fileSha256(path: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash("sha256");
  let size = 0;
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest("hex"), sizeBytes: size };
}

async function removeQuietly(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}

/** Runs `pg_dump` with the connection in its environment; throws with its (redacted) stderr. */
async function pgDump(
  tool: string,
  args: string[],
  env: Record<string, string>,
  signal?: AbortSignal,
): Promise<void> {
  const out = await new Deno.Command(tool, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal,
  }).output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join(" | ");
    throw new Error(
      `pg_dump exited with ${out.signal ?? out.code}: ${redactText(stderr) || "no message"}`,
    );
  }
}

/** Deletes old backups by the rotation rule; returns the deleted paths. */
export async function rotateBackups(
  dir: string,
  keep: { keepDaily: number; keepWeekly: number },
): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
  const deleted: string[] = [];
  for (const name of backupsToDelete(names, keep)) {
    await Deno.remove(`${dir}/${name}`);
    deleted.push(`${dir}/${name}`);
  }
  return deleted;
}

/** Makes one backup and rotates; a failure is recorded and returned, not thrown. */
export async function runBackup(o: BackupOptions): Promise<JobOutcome> {
  const startedAt = o.now();
  const id = await insertBackup(o.sql, startedAt);
  const path = `${o.dir}/${backupFileName(startedAt)}`;
  const partial = `${path}.partial`;
  let wrote = false;
  try {
    const server = await serverVersion(o.sql);
    const tool = await findPgTool("pg_dump", server.major, o.pgBinDirs);
    ensurePrivateDir(o.dir);
    let rowCounts: Record<string, number> = {};
    await o.sql.begin("isolation level repeatable read read only", async (tx) => {
      const [snap] = await tx<{ id: string }[]>`select pg_export_snapshot() as id`;
      rowCounts = await countRows(tx as unknown as Sql);
      wrote = true;
      // pg_dump truncates the file it is given and keeps its mode: the dump is never readable
      // by another user, not even while it is written.
      ensurePrivateFile(partial);
      await pgDump(
        tool.path,
        ["--format=custom", `--snapshot=${snap!.id}`, "--no-password", `--file=${partial}`],
        pgEnv(o.databaseUrl),
        o.signal,
      );
    });
    await Deno.rename(partial, path);
    const { sha256, sizeBytes } = await fileSha256(path);
    await completeBackup(o.sql, id, {
      finishedAt: o.now(),
      path,
      sizeBytes,
      sha256,
      serverVersion: String(server.num),
      tool: `${tool.path} ${tool.version}`,
      rowCounts,
    });
    const deleted = await rotateBackups(o.dir, o);
    await markDeleted(o.sql, deleted, o.now());
    return {
      status: "ok",
      details: { path, sizeBytes, sha256, tables: Object.keys(rowCounts).length, deleted },
    };
  } catch (e) {
    if (wrote) await removeQuietly(partial);
    const info = errorInfo(e);
    const error = redactText(`${info.name}: ${info.message}`);
    await failBackup(o.sql, id, o.now(), error, null);
    return { status: "failed", error, details: { path } };
  }
}
