/**
 * One legacy import in a process of its own, for `legacy_import.ts`: imports the file (with its
 * parity), then verifies it again, and prints the durations and the process's peak RSS (VmHWM),
 * so the peak is the importer's alone and grows only if the importer holds what it reads. With a
 * third argument it then writes the imported rows there as COPY text (the ceiling's input) and
 * exits: postgres.js can leave a socket paused after a COPY TO, which would keep a process alive.
 *
 * Usage: deno run -A bench/_legacy_import_child.ts <database url> <file> [<dump file>]
 *
 * @module
 */
import { ManualClock } from "../lib/clock.ts";
import { createSql } from "../lib/db.ts";
import { importLegacy, verifyLegacy } from "../legacy/mod.ts";

const [url, path, dumpTo] = Deno.args;
const clock = new ManualClock(Date.UTC(2025, 11, 1));
const sql = createSql(url!, { max: 4 });
const t0 = performance.now();
const imported = await importLegacy(sql, [path!], { clock });
const importMs = performance.now() - t0;
const t1 = performance.now();
const verified = await verifyLegacy(sql, [path!], { clock, store: false });
const verifyMs = performance.now() - t1;
const status = await Deno.readTextFile("/proc/self/status");
const peakKb = Number(status.match(/^VmHWM:\s+(\d+)/m)?.[1] ?? NaN);
const e = imported.entries[0]!;
const v = verified.entries[0]!;
console.log(JSON.stringify({
  importMs,
  verifyMs,
  peakKb,
  status: e.status,
  verifyStatus: v.status,
  inserted: e.inserted,
  sourceRows: e.sourceRows,
  excluded: e.excludedCount,
  error: e.error,
}));
if (dumpTo) {
  const out = await Deno.open(dumpTo, { write: true, create: true, truncate: true });
  const stream = await sql.unsafe(`copy (select "timestamp", price, momentum, delta_1m, delta_2m,
    delta_3m, delta_4m, delta_15m, delta_30m from live_data.btc_price_log order by "timestamp")
    to stdout`).readable();
  for await (const chunk of stream) await out.write(chunk as Uint8Array);
  out.close();
}
await sql.end({ timeout: 0 });
Deno.exit(0);
