/**
 * Command-line helpers for the tasks: their arguments, and the prologue every one-shot command
 * shares (the configuration, its flags, a migrated database), each failing as one line on stderr
 * and exit 2, never a stack trace.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { type Config, loadConfig } from "./config.ts";
import { connectWithRetry, describeTarget, type Sql } from "./db.ts";
import { ConfigError } from "./errors.ts";
import { schemaProblem } from "./schema_check.ts";

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

/** The flags a command declares (`node:util` `parseArgs` options). */
export type CommandFlags = NonNullable<ParseArgsConfig["options"]>;

/**
 * The command's flags, parsed strictly from `args` (no positionals): an unknown flag or a missing
 * value is one line on stderr and exit 2.
 */
export function commandArgs<const T extends CommandFlags>(
  command: string,
  flags: T,
  args: string[],
  exit: (code: number) => never = Deno.exit,
): ReturnType<typeof parseArgs<{ args: string[]; options: T }>>["values"] {
  try {
    return parseArgs({ args, options: flags }).values;
  } catch (e) {
    console.error(`Cannot run ${command}: ${(e as Error).message}`);
    return exit(2);
  }
}

/**
 * The command's database: `config.databaseUrl` connected (retrying for `dbConnectTimeoutMs`) and
 * checked to carry this checkout's schema and `users`' schemas; otherwise the reason on stderr
 * and exit 2, the connection closed.
 */
export async function commandDatabase(
  command: string,
  config: Config & { databaseUrl: string },
  options: { users?: readonly string[]; applicationName?: string } = {},
  exit: (code: number) => never = Deno.exit,
): Promise<Sql> {
  const sql = await connectWithRetry(config.databaseUrl, {
    timeoutMs: config.dbConnectTimeoutMs,
    ...(options.applicationName ? { applicationName: options.applicationName } : {}),
  });
  let problem: string | undefined;
  try {
    problem = await schemaProblem(sql, {
      command,
      target: describeTarget(config.databaseUrl),
      ...(options.users ? { users: options.users } : {}),
    });
  } catch (e) {
    await sql.end({ timeout: 5 });
    throw e;
  }
  if (!problem) return sql;
  console.error(problem);
  await sql.end({ timeout: 5 });
  return exit(2);
}
