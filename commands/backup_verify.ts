/**
 * `deno task backup:verify`: restores the newest backup into a scratch database and compares its
 * row counts, table by table, with the live database's at the dump's snapshot
 * ({@linkcode verifyBackup}), printing the table. Exit codes: 0 every table matches, 1 a mismatch,
 * 2 no backup or the check could not run.
 *
 * The live database is `DATABASE_URL`, or else the embedded server running in `RECIO_PG_DIR`.
 *
 * @module
 */
import { formatVerifyTable, verifyBackup } from "../actors/jobs/backup/verify.ts";
import { commandConfig } from "../lib/cli.ts";
import { createSql, describeTarget } from "../lib/db.ts";
import { runningEmbedded } from "../lib/embedded_db/running.ts";
import { pgBinDirs } from "../lib/pg_tools.ts";
import { schemaProblem } from "../lib/schema_check.ts";

async function main(): Promise<number> {
  const config = commandConfig("backup:verify");
  const found = config.databaseUrl ? { url: config.databaseUrl } : runningEmbedded(config.pgDir);
  if (!("url" in found)) {
    console.error(`Cannot verify a backup: DATABASE_URL is not set and ${found.why}`);
    return 2;
  }
  const url = found.url;
  const sql = createSql(url, { max: 2, applicationName: "recio-backup-verify" });
  try {
    const problem = await schemaProblem(sql, {
      command: "backup:verify",
      target: describeTarget(url),
    });
    if (problem) {
      console.error(problem);
      return 2;
    }
    const r = await verifyBackup({ sql, url, pgBinDirs: pgBinDirs(config.backup.pgBinDir) });
    console.log(
      `Backup ${r.backup.path} (${r.backup.sizeBytes} bytes, started ` +
        `${r.backup.startedAt.toISOString()}), sha256 ok`,
    );
    console.log(formatVerifyTable(r.rows));
    const bad = r.rows.filter((x) => !x.ok).length;
    console.log(
      bad === 0
        ? `Verified: ${r.rows.length} tables match`
        : `MISMATCH: ${bad} of ${r.rows.length} tables differ`,
    );
    return bad === 0 ? 0 : 1;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 2;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) {
  Deno.exit(await main());
}
