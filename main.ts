/**
 * rec.io runtime: `deno task start` (and `deno task demo`, which passes `--demo`). Loads the
 * configuration, then runs the heart, which owns the embedded database (when no `DATABASE_URL` is
 * set) and runs the supervisor process. Exit codes are the heart's (`supervisor/heart.ts`); an
 * invalid configuration exits 2 with a message naming the variable.
 *
 * @module
 */
import { type Config, loadConfig } from "./lib/config.ts";
import { ConfigError } from "./lib/errors.ts";
import { setupLogging } from "./lib/log.ts";
import { startDemoVenues } from "./supervisor/demo.ts";
import { runHeart } from "./supervisor/heart.ts";

async function main(args: string[]): Promise<number> {
  // The supervisor process reads its configuration from the environment it inherits.
  if (args.includes("--demo")) Deno.env.set("RECIO_DEMO", "1");
  let config: Config;
  try {
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
  const dataDir = config.dataDir;
  return await runHeart({
    config,
    signal: stop.signal,
    // Demo mode: simulated venues in the same process tree; the actors run as in production.
    prepare: config.demo ? (url) => startDemoVenues(dataDir, url) : undefined,
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
