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
 * This process stays small (the heart only spawns, pings and owns the embedded server): it loads
 * no npm package. The configuration is validated in a short-lived child
 * (`supervisor/heart_config.ts`) and the heart logs through `supervisor/heart_log.ts`, which
 * writes LogTape's lines without LogTape. The `start` task runs it with `--no-code-cache`: V8's
 * code cache database, mapped for these few small modules, cost it about 2 MiB RSS, and compiling
 * them instead is not measurable in its start (`bench/supervisor.ts`).
 *
 * @module
 */
import { runHeart } from "./supervisor/heart.ts";
import { checkConfig } from "./supervisor/heart_config.ts";
import { heartLogger } from "./supervisor/heart_log.ts";

/** Why `deno task start` refuses demo mode. */
const DEMO_REFUSED = "RECIO_DEMO: `deno task start` runs on live data only; the demo is " +
  "`deno task demo`, which keeps its own data folder (<RECIO_DATA_DIR>/demo) and database. " +
  "Unset RECIO_DEMO (and drop --demo)";

async function main(args: string[]): Promise<number> {
  const checked = await checkConfig();
  if ("code" in checked) return checked.code; // the check said why on stderr
  const { config } = checked;
  if (config.demo || args.includes("--demo")) {
    console.error(DEMO_REFUSED);
    return 2;
  }
  const log = heartLogger({ format: config.log.format, level: config.log.level });
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => stop.abort());
  }
  return await runHeart({ config, signal: stop.signal, log });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
