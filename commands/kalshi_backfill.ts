/**
 * `deno task kalshi:backfill [--user user_0001] [--since YYYY-MM-DD] [--streams fills,...]`:
 * the historical ingest as a command. Needs `DATABASE_URL` (migrated: a database without the
 * schema or the user's schema is refused with what to run, exit 2), `KALSHI_API_KEY_ID` and
 * `KALSHI_PRIVATE_KEY_PATH`. Ctrl-C stops after the page being written; the next run resumes.
 *
 * `DATABASE_URL` only checks the schema and the user's login; the backfill writes as the user's own
 * role (`<user>_rw`, with the password in `RECIO_DB_USERS_DIR`/`<user>.password`, as the
 * supervisor's workers do), so it can touch nothing but that user's schema. A missing or unsafe
 * password file is exit 2, naming the user and what to supply.
 *
 * @module
 */
import { commandDatabase, commandDatabaseConfig, taskArgs } from "../lib/cli.ts";
import { createSql } from "../lib/db.ts";
import { provisionUserLogins } from "../lib/db_users.ts";
import { ConfigError } from "../lib/errors.ts";
import { getLogger, setupLogging } from "../lib/log.ts";
import { createAccountStore } from "../lib/kalshi/account_store.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import { signerFromFile } from "../lib/kalshi/signer.ts";
import { parseBackfillArgs, runBackfill } from "../actors/jobs/kalshi_historical_ingest/mod.ts";

async function main(): Promise<number> {
  const config = commandDatabaseConfig(
    "kalshi:backfill",
    "the embedded database is owned by main.ts: point it at the database",
  );
  await setupLogging({ format: config.log.format, level: config.log.level });
  const log = getLogger("kalshi_historical_ingest");
  const args = parseBackfillArgs(taskArgs());
  if (!config.kalshi.apiKeyId || !config.kalshi.privateKeyPath) {
    console.error("Cannot backfill: set KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH");
    return 2;
  }
  const signer = await signerFromFile(config.kalshi.apiKeyId, config.kalshi.privateKeyPath);
  const sql = await commandDatabase("kalshi:backfill", config, { users: [args.user] });
  let userUrl: string;
  try {
    const logins = await provisionUserLogins(sql, config.databaseUrl, {
      users: [args.user],
      dir: config.dbUsers.dir,
      generate: config.dbUsers.generate,
      log,
    });
    userUrl = logins.get(args.user)!;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    return 2;
  } finally {
    await sql.end({ timeout: 5 });
  }
  const userSql = createSql(userUrl, { max: 2, applicationName: "recio-kalshi_backfill" });
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error("interrupted"));
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const client = new KalshiClient({
      baseUrl: config.kalshi.baseUrl,
      signer,
      readPerSecond: config.kalshi.readPerSecond,
      writePerSecond: config.kalshi.writePerSecond,
    });
    const summary = await runBackfill({
      client,
      store: createAccountStore(userSql, args.user),
      streams: args.streams,
      since: args.since,
      signal: abort.signal,
      onReject: (stream, issue) => log.warn("Rejected a {stream} item: {issue}", { stream, issue }),
      onRefused: (stream, refused) =>
        log.warn("{count} {stream} rows refused by PostgreSQL, first: {reason}", {
          stream,
          count: refused.count,
          reason: refused.rows[0]?.reason,
        }),
      onPage: (stream, items) => log.info("{stream}: {items} items", { stream, items }),
    });
    console.log(JSON.stringify({ user: args.user, ...summary }, null, 2));
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await userSql.end({ timeout: 5 });
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
