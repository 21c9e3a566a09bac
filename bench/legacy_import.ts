/**
 * Legacy import benchmark: rows/s and peak RSS importing a 1.4 M-row legacy price log (30 days of
 * 1-second BTC rows, the size §10 of the legacy notes measured), and the time to recompute its
 * parity (both sides streamed and hashed). Needs `DATABASE_URL`; works in its own scratch
 * database. Run alone: `DATABASE_URL=... deno run -A bench/legacy_import.ts`.
 *
 * @module
 */
import { importLegacy, verifyLegacy } from "../legacy/mod.ts";
import { createTestDb } from "../tests/_db.ts";
import { secondRows, writePriceDb } from "../tests/fixtures/legacy.ts";
import { type BenchRow, round } from "./_stats.ts";

const ROWS = 1_400_000;
const MB = 1024 * 1024;

/** Runs the benchmark. */
export async function run(): Promise<BenchRow[]> {
  await using db = await createTestDb();
  const dir = await Deno.makeTempDir({ prefix: "recio_bench_legacy_" });
  try {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, secondRows(ROWS));
    const base = Deno.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
    const t0 = performance.now();
    let report;
    try {
      report = await importLegacy(db.sql, [path]);
    } finally {
      clearInterval(timer);
    }
    const total = (performance.now() - t0) / 1000;
    const e = report.entries[0]!;
    if (e.status !== "ok" || e.inserted !== ROWS) {
      throw new Error(`legacy import did not prove parity: ${e.status} ${e.error ?? ""}`);
    }
    const t1 = performance.now();
    const verify = await verifyLegacy(db.sql, [path], { store: false });
    const parityS = (performance.now() - t1) / 1000;
    if (!verify.ok) throw new Error("legacy verify failed");
    const note = `${ROWS} rows, price_log layout`;
    return [
      {
        bench: "legacy_import",
        metric: "import+parity rows/s",
        value: round(ROWS / total, 0),
        unit: "rows/s",
        note,
      },
      {
        bench: "legacy_import",
        metric: "import+parity time",
        value: round(total, 1),
        unit: "s",
        note,
      },
      {
        bench: "legacy_import",
        metric: "peak RSS",
        value: round(peak / MB, 0),
        unit: "MB",
        note: `start ${round(base / MB, 0)} MB`,
      },
      {
        bench: "legacy_import",
        metric: "parity (verify) time",
        value: round(parityS, 1),
        unit: "s",
        note,
      },
      {
        bench: "legacy_import",
        metric: "parity rows/s",
        value: round(ROWS / parityS, 0),
        unit: "rows/s",
        note,
      },
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) console.table(await run());
