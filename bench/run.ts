/**
 * `deno task bench`: runs every `bench/*.ts` module that exports `run(): Promise<BenchRow[]>`,
 * prints one table and writes it to `bench/results/<timestamp>.{json,md}`. Uses `DATABASE_URL`
 * when set, otherwise an embedded PostgreSQL in `./data/bench-pg`. `deno task bench -- supervisor`
 * runs only the modules whose name contains one of the arguments.
 *
 * @module
 */
import { taskArgs } from "../lib/cli.ts";
import { type EmbeddedDb, startEmbeddedDb } from "../lib/embedded_db/mod.ts";
import type { BenchRow } from "./_stats.ts";

const dir = new URL("./", import.meta.url);
let embedded: EmbeddedDb | undefined;
if (!Deno.env.get("DATABASE_URL")) {
  embedded = await startEmbeddedDb({ dir: "./data/bench-pg" });
  Deno.env.set("DATABASE_URL", embedded.url);
}

const names: string[] = [];
for await (const e of Deno.readDir(dir)) {
  if (e.isFile && e.name.endsWith(".ts") && !e.name.startsWith("_") && e.name !== "run.ts") {
    const wanted = taskArgs();
    if (wanted.length === 0 || wanted.some((a) => e.name.includes(a))) names.push(e.name);
  }
}
names.sort();

const rows: BenchRow[] = [];
const failures: string[] = [];
for (const name of names) {
  const mod = await import(new URL(name, dir).href);
  if (typeof mod.run !== "function") continue;
  console.error(`running ${name} ...`);
  try {
    rows.push(...(await mod.run()));
  } catch (e) {
    failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
await embedded?.stop();

const header = ["bench", "metric", "value", "unit", "note"];
const table = [
  `| ${header.join(" | ")} |`,
  `| ${header.map(() => "---").join(" | ")} |`,
  ...rows.map((r) => `| ${r.bench} | ${r.metric} | ${r.value} | ${r.unit} | ${r.note ?? ""} |`),
];
console.log(table.join("\n"));
for (const f of failures) console.error(`FAILED ${f}`);

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const out = new URL("./results/", dir);
await Deno.mkdir(out, { recursive: true });
const meta = {
  at: new Date().toISOString(),
  deno: Deno.version.deno,
  cpus: navigator.hardwareConcurrency,
  rows,
  failures,
};
await Deno.writeTextFile(new URL(`${stamp}.json`, out), JSON.stringify(meta, null, 2));
await Deno.writeTextFile(new URL(`${stamp}.md`, out), table.join("\n") + "\n");
console.error(`written to bench/results/${stamp}.{json,md}`);
Deno.exit(failures.length > 0 ? 1 : 0);
