/**
 * rec.io runtime: `deno task start`. Loads the configuration, then runs the heart, which owns the
 * embedded database (when no `DATABASE_URL` is set) and runs the supervisor process.
 *
 * @module
 */
import { loadConfig } from "./lib/config.ts";
import { setupLogging } from "./lib/log.ts";
import { runHeart } from "./supervisor/heart.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 2;
  }
  await setupLogging({ format: config.log.format, level: config.log.level });
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => stop.abort());
  }
  return await runHeart({ config, signal: stop.signal });
}

if (import.meta.main) Deno.exit(await main());
