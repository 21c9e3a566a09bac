/**
 * Legacy import benchmark (issue 17, section 3): a legacy per-second BTC price log of 200 k rows
 * and of 10 M rows (about 116 days; `RECIO_BENCH_LEGACY_ROWS` sets the larger size) is imported
 * with its parity, and beside it, in the same run, the ceiling: a COPY of the same rows (dumped
 * from the imported table as COPY text) into the same table, emptied. Printed per size: import +
 * parity rows/s, COPY rows/s and their ratio (target ≥ 0.5), the peak RSS of the importing
 * process (its own process, VmHWM), and at the larger size the rows/s of a verification alone.
 * At 200 k rows each side is measured twice and the faster run counts (less noise on a shared
 * machine); at 10 M once. The larger size takes about three minutes on two cores. The importing
 * process runs with the V8 flags of `deno task import-legacy` (none today), as a user's would.
 *
 * Needs `DATABASE_URL`; works in scratch databases. Run alone:
 * `DATABASE_URL=... deno run -A bench/legacy_import.ts`.
 *
 * @module
 */
import type { Sql } from "../lib/db.ts";
import { createTestDb } from "../tests/_db.ts";
import { secondRows, writePriceDb } from "../tests/fixtures/legacy.ts";
import { type BenchRow, round } from "./_stats.ts";

const SMALL = 200_000;
const LARGE = Number(Deno.env.get("RECIO_BENCH_LEGACY_ROWS") ?? 10_000_000);
const TARGET = "live_data.btc_price_log";
const COLUMNS =
  `"timestamp", price, momentum, delta_1m, delta_2m, delta_3m, delta_4m, delta_15m, delta_30m`;
const CHILD = new URL("./_legacy_import_child.ts", import.meta.url).pathname;

interface ChildResult {
  importMs: number;
  verifyMs: number;
  peakKb: number;
  status: string;
  verifyStatus: string;
  inserted: number;
  sourceRows: number;
  excluded: number;
  error: string | null;
}

/** The V8 flags `deno task import-legacy` runs the importer with (read from `deno.json`). */
export function importV8Flags(): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url))).tasks;
  return (tasks["import-legacy"] as string).split(/\s+/).filter((w) => w.startsWith("--v8-flags="));
}

/** Imports `path` in a child process (see `_legacy_import_child.ts`), dumping to `dumpTo`. */
async function importInChild(url: string, path: string, dumpTo?: string): Promise<ChildResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...importV8Flags(), CHILD, url, path, ...(dumpTo ? [dumpTo] : [])],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error(`legacy import child exited with ${out.code}`);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  if (r.status !== "ok" || r.verifyStatus !== "ok") {
    throw new Error(`legacy import did not prove parity: ${r.status} ${r.error ?? ""}`);
  }
  return r as ChildResult;
}

/** Seconds to COPY `file` into the emptied target in one transaction (the ceiling). */
async function copySeconds(sql: Sql, file: string): Promise<number> {
  await sql`truncate ${sql(TARGET)}`;
  const start = performance.now();
  await sql.begin(async (tx) => {
    const w = await tx.unsafe(`copy ${TARGET} (${COLUMNS}) from stdin`).writable();
    const done = new Promise<void>((resolve, reject) => {
      w.on("finish", resolve);
      w.on("error", reject);
    });
    const f = await Deno.open(file);
    for await (const chunk of f.readable) { // closes the file at its end
      if (!w.write(chunk)) await Promise.race([new Promise((r) => w.once("drain", r)), done]);
    }
    w.end();
    await done;
  });
  return (performance.now() - start) / 1000;
}

/** Import (child process) and COPY of one size, `reps` times each; the fastest of each counts. */
async function measure(dir: string, rows: number, reps: number) {
  const path = `${dir}/${rows}/btc_price_history.db`;
  await writePriceDb(path, secondRows(rows));
  await using db = await createTestDb();
  const dumped = `${dir}/${rows}.copy`;
  let best: ChildResult | undefined;
  let copyS = Infinity;
  let copied = 0;
  for (let i = 0; i < reps; i++) {
    await db.sql`truncate ${db.sql(TARGET)}`;
    await db.sql`delete from system.legacy_import_runs`;
    const r = await importInChild(db.url, path, i === 0 ? dumped : undefined);
    const peakKb = Math.max(r.peakKb, best?.peakKb ?? 0);
    if (!best || r.importMs < best.importMs) best = r;
    best.peakKb = peakKb;
    if (i === 0) {
      const [n] = await db.sql<{ n: number }[]>`select count(*)::int as n from ${db.sql(TARGET)}`;
      copied = n!.n;
    }
    copyS = Math.min(copyS, await copySeconds(db.sql, dumped));
  }
  await Deno.remove(dumped);
  await Deno.remove(path);
  const importRate = rows / (best!.importMs / 1000);
  const copyRate = copied / copyS;
  return { rows, child: best!, importRate, copyRate, ratio: importRate / copyRate };
}

/** Runs the benchmark. */
export async function run(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "recio_bench_legacy_" });
  try {
    const small = await measure(dir, SMALL, 2);
    const large = await measure(dir, LARGE, 1);
    const out: BenchRow[] = [];
    for (const m of [small, large]) {
      const size = `${round(m.rows / 1e6, 1)} M rows`;
      const note = `${size} (price_log layout, ${m.child.excluded} spring-forward rows excluded)`;
      out.push(
        {
          bench: "legacy_import",
          metric: `import+parity rows/s, ${size}`,
          value: round(m.importRate, 0),
          unit: "rows/s",
          note,
        },
        {
          bench: "legacy_import",
          metric: `COPY rows/s, ${size}`,
          value: round(m.copyRate, 0),
          unit: "rows/s",
          note: "ceiling: the same rows as COPY text into the same emptied table, same run",
        },
        {
          bench: "legacy_import",
          metric: `import+parity / COPY, ${size}`,
          value: round(m.ratio, 2),
          unit: "ratio",
          note: "target >= 0.5",
        },
        {
          bench: "legacy_import",
          metric: `peak RSS, ${size}`,
          value: round(m.child.peakKb / 1024, 0),
          unit: "MB",
          note: "importing process (VmHWM), import + verify",
        },
      );
    }
    out.push(
      {
        bench: "legacy_import",
        metric: "peak RSS growth, 0.2 M → large",
        value: round((large.child.peakKb - small.child.peakKb) / 1024, 0),
        unit: "MB",
        note: `${round(LARGE / 1e6, 1)} M rows against 0.2 M: flat means the import streams`,
      },
      {
        bench: "legacy_import",
        metric: `verify (parity alone) rows/s, ${round(LARGE / 1e6, 1)} M rows`,
        value: round(LARGE / (large.child.verifyMs / 1000), 0),
        unit: "rows/s",
        note: "source read and hashed, target digested",
      },
    );
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) console.table(await run());
