/**
 * `deno task migrate`: applies the schema migrations ({@linkcode migrate}) to the database named by
 * `DATABASE_URL` and lists the ones it applied. Exit codes: 0 migrated, 2 invalid configuration or
 * no `DATABASE_URL`, 3 the database refused (unreachable, a failed or drifted migration).
 *
 * @module
 */
import { commandDatabaseConfig } from "../lib/cli.ts";
import { connectWithRetry, type Sql } from "../lib/db.ts";
import { setupLogging } from "../lib/log.ts";
import { migrate } from "../schema/migrate.ts";

async function main(): Promise<number> {
  const config = commandDatabaseConfig(
    "migrate",
    "set it to the database to migrate, or use `deno task start`, which owns " +
      "the embedded database and migrates it at start-up",
  );
  await setupLogging({ format: config.log.format, level: config.log.level });
  let sql: Sql | undefined;
  try {
    sql = await connectWithRetry(config.databaseUrl, {
      timeoutMs: config.dbConnectTimeoutMs,
      max: 2,
      applicationName: "recio-migrate",
    });
    const { applied, skipped } = await migrate(sql);
    console.log(`applied ${applied.length} migration(s), ${skipped.length} already applied`);
    for (const name of applied) console.log(`  ${name}`);
    return 0;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 3;
  } finally {
    await sql?.end({ timeout: 5 });
  }
}

if (import.meta.main) Deno.exit(await main());
