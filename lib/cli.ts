/**
 * Command-line helpers for the tasks.
 *
 * @module
 */
import { type Config, loadConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";

/**
 * The task's own arguments: `deno task x -- --days 3` passes the `--` on to the script (Deno
 * 2.9.6), after any arguments the task itself spells out, so the first `--` is dropped;
 * `deno task x --days 3` works the same.
 */
export function taskArgs(args: readonly string[] = Deno.args): string[] {
  const i = args.indexOf("--");
  return i === -1 ? [...args] : [...args.slice(0, i), ...args.slice(i + 1)];
}

/**
 * The prologue of every one-shot command: the configuration, or the reason it is invalid on
 * stderr and exit 2 (`exit` is injectable for tests).
 */
export function commandConfig(
  command: string,
  options: { env?: Record<string, string | undefined> } = {},
  exit: (code: number) => never = Deno.exit,
): Config {
  try {
    return loadConfig(options.env ?? Deno.env.toObject());
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`Cannot run ${command}: ${e.message}`);
    return exit(2);
  }
}

/**
 * {@linkcode commandConfig} for a command that needs `DATABASE_URL`: exit 2 without it, saying
 * what to point it at (`what`).
 */
export function commandDatabaseConfig(
  command: string,
  what: string,
  options: { env?: Record<string, string | undefined> } = {},
  exit: (code: number) => never = Deno.exit,
): Config & { databaseUrl: string } {
  const config = commandConfig(command, options, exit);
  if (!config.databaseUrl) {
    console.error(`Cannot run ${command}: DATABASE_URL is not set (${what})`);
    return exit(2);
  }
  return config as Config & { databaseUrl: string };
}
