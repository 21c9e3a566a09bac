/**
 * The importer streams: its peak memory does not grow with the size of the source. Each import
 * runs in a process of its own (peak RSS of that process alone); 1 M rows must peak within 100 MB
 * of 200 k rows (loading them all would take several hundred MB more).
 */
import assert from "node:assert/strict";
import { createTestDb } from "./_db.ts";
import { secondRows, writePriceDb } from "./fixtures/legacy.ts";

const CHILD = new URL("./fixtures/legacy_import_child.ts", import.meta.url).pathname;

async function importInChild(url: string, path: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, url, path],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!) as {
    peakKb: number;
    status: string;
    inserted: number;
  };
}

Deno.test("importLegacy() streams: 1 M rows peak within 100 MB of 200 k rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recio_legacy_mem_" });
  try {
    const small = `${dir}/small/btc_price_history.db`;
    const large = `${dir}/large/btc_price_history.db`;
    await writePriceDb(small, secondRows(200_000));
    await writePriceDb(large, secondRows(1_000_000));
    await using db1 = await createTestDb();
    const a = await importInChild(db1.url, small);
    await using db2 = await createTestDb();
    const b = await importInChild(db2.url, large);
    assert.equal(a.status, "ok");
    assert.equal(b.status, "ok");
    assert.equal(a.inserted, 200_000);
    assert.equal(b.inserted, 1_000_000);
    const growthMb = (b.peakKb - a.peakKb) / 1024;
    assert.ok(growthMb < 100, `peak grew by ${growthMb.toFixed(0)} MB from 200 k to 1 M rows`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
