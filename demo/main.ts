/**
 * `deno task demo`: the production heart and supervisor, offline, on simulated venues, in the
 * demo's own data folder. Nothing of the demo goes under the live paths:
 *
 * - data folder `<RECIO_DATA_DIR>/demo` (default `./data/demo`): its embedded database (`pg/`,
 *   `pg.password`, the users' role passwords `pg.users/`), strike table files (`output/`),
 *   backups (`backups/`), the heart's state, the control token (`status-token`) and the demo
 *   Kalshi key (`kalshi-demo.pem`); these override any live `RECIO_PG_DIR`, `RECIO_DB_USERS_DIR`,
 *   `RECIO_OUTPUT_DIR`, `RECIO_BACKUP_DIR`, `KALSHI_ARCHIVE_DIR` and `RECIO_LOG_FILE` in the
 *   environment (the archive and the log file only when those are set);
 * - a database given by `DATABASE_URL` is used only when it is the demo's: one marked live, or
 *   unmarked with rec.io data in it, is refused before anything is written (exit 2).
 *
 * Exit codes are the heart's (`supervisor/heart.ts`).
 *
 * @module
 */
import { basename } from "node:path";
import { type Config, loadConfig } from "../lib/config.ts";
import { embeddedLayout } from "../lib/embedded_db/layout.ts";
import { ConfigError } from "../lib/errors.ts";
import { setupLogging } from "../lib/log.ts";
import { runHeart } from "../supervisor/heart.ts";
import { startDemo } from "./venues.ts";

/**
 * The settings `deno task demo` overrides, from the live configuration it was given (environment
 * and `RECIO_CONFIG_FILE`): every data path inside the demo's own folder, `<RECIO_DATA_DIR>/demo`.
 */
export function demoEnvironment(
  live: Pick<Config, "dataDir" | "log" | "kalshi">,
): Record<string, string> {
  const base = live.dataDir.replace(/(.)\/+$/, "$1");
  const dir = `${base === "/" ? "" : base}/demo`;
  const out: Record<string, string> = {
    RECIO_DEMO: "1",
    RECIO_DATA_DIR: dir,
    RECIO_PG_DIR: `${dir}/pg`,
    RECIO_DB_USERS_DIR: embeddedLayout(`${dir}/pg`).users,
    RECIO_PG_PORT: "0",
    RECIO_OUTPUT_DIR: `${dir}/output`,
    RECIO_BACKUP_DIR: `${dir}/backups`,
  };
  if (live.kalshi.archiveDir) out.KALSHI_ARCHIVE_DIR = `${dir}/kalshi_archive`;
  if (live.log.file) out.RECIO_LOG_FILE = `${dir}/${basename(live.log.file)}`;
  return out;
}

async function main(): Promise<number> {
  let config: Config;
  try {
    // The supervisor process reads its configuration from the environment it inherits.
    for (const [k, v] of Object.entries(demoEnvironment(loadConfig()))) Deno.env.set(k, v);
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    return 2;
  }
  await setupLogging({ format: config.log.format, level: config.log.level });
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => stop.abort());
  }
  return await runHeart({ config, signal: stop.signal, prepare: (ctx) => startDemo(ctx, config) });
}

if (import.meta.main) Deno.exit(await main());
