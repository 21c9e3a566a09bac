/**
 * rec.io runtime: `deno task start`, on live data only. Loads the configuration, then runs the
 * heart, which owns the embedded database (when no `DATABASE_URL` is set) and runs the supervisor
 * process. Exit codes are the heart's (`supervisor/heart.ts`); an invalid configuration exits 2
 * with a message naming the variable, and so does a database marked as the demo's (refused by the
 * supervisor before anything is written to it).
 *
 * The demo is `deno task demo` (`demo/main.ts`), with its own data folder and database:
 * `RECIO_DEMO=1` or `--demo` here is refused (exit 2), never run on the live data folder.
 *
 * @module
 */
import { type Config, loadConfig } from "./lib/config.ts";
import { ConfigError } from "./lib/errors.ts";
import { setupLogging } from "./lib/log.ts";
import { runHeart } from "./supervisor/heart.ts";

/** Why `deno task start` refuses demo mode. */
const DEMO_REFUSED = "RECIO_DEMO: `deno task start` runs on live data only; the demo is " +
  "`deno task demo`, which keeps its own data folder (<RECIO_DATA_DIR>/demo) and database. " +
  "Unset RECIO_DEMO (and drop --demo)";

async function main(args: string[]): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
    if (config.demo || args.includes("--demo")) throw new ConfigError(DEMO_REFUSED);
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
  return await runHeart({ config, signal: stop.signal });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
