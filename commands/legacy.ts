/**
 * `deno task import-legacy -- [--dry-run] [--report out.json] <path>...` and
 * `deno task verify-legacy -- [--report out.json] <path>...`: import (or re-check) the legacy
 * stores under the paths against the database named by `DATABASE_URL`, print the parity table,
 * optionally write it as JSON, and exit 1 when any source failed or lacks parity (2 on usage or
 * connection errors). The importer itself is `legacy/`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { commandDatabaseConfig, taskArgs } from "../lib/cli.ts";
import { connectWithRetry, describeTarget } from "../lib/db.ts";
import { redactText } from "../lib/log.ts";
import { migrate } from "../schema/migrate.ts";
import { formatReport, importLegacy, verifyLegacy } from "../legacy/mod.ts";

const USAGE =
  "usage: deno task import-legacy|verify-legacy -- [--dry-run] [--report out.json] <path>...";

/** Runs the command line; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "dry-run": { type: "boolean", default: false },
      report: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const [command, ...paths] = positionals;
  if (values.help || (command !== "import" && command !== "verify") || paths.length === 0) {
    console.error(USAGE);
    return 2;
  }
  for (const p of paths) {
    try {
      await Deno.stat(p);
    } catch {
      console.error(`Cannot read "${p}": no such file or directory`);
      return 2;
    }
  }
  // The same checked configuration as every command (a malformed DATABASE_URL is refused).
  const url =
    commandDatabaseConfig(`${command}-legacy`, "set it to the target database").databaseUrl;
  let sql;
  try {
    sql = await connectWithRetry(url, { timeoutMs: 10_000, applicationName: "recio-legacy" });
  } catch (e) {
    console.error(redactText((e as Error).message));
    return 2;
  }
  try {
    if (!values["dry-run"]) await migrate(sql);
    const options = { dryRun: values["dry-run"] };
    const report = command === "import"
      ? await importLegacy(sql, paths, options)
      : await verifyLegacy(sql, paths, options);
    console.log(`legacy ${command} into ${describeTarget(url)}`);
    console.log(formatReport(report));
    if (values.report) {
      await Deno.writeTextFile(values.report, JSON.stringify(report, null, 2) + "\n");
    }
    return report.ok ? 0 : 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) Deno.exit(await main(taskArgs()));
