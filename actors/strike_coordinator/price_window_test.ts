/** PriceWindow: the same points as a full read, with incremental reads and periodic full ones. */
import assert from "node:assert/strict";
import type { PricePoint } from "./closed_form.ts";
import { PriceWindow } from "./price_window.ts";

/** A fake price log recording each read. */
function log() {
  const rows: PricePoint[] = [];
  const reads: { since: number; after?: number }[] = [];
  const load = (since: number, after?: number) => {
    reads.push(after === undefined ? { since } : { since, after });
    return Promise.resolve(
      rows.filter((r) => r.t >= since && (after === undefined || r.t > after))
        .sort((a, b) => a.t - b.t),
    );
  };
  const full = (since: number) => rows.filter((r) => r.t >= since).sort((a, b) => a.t - b.t);
  return { rows, reads, load, full };
}

Deno.test("PriceWindow - reads only newer rows, drops those that left the window, equals a full read", async () => {
  const l = log();
  for (let t = 0; t < 10; t++) l.rows.push({ t: t * 1000, price: 100 + t });
  const w = new PriceWindow(l.load, 100);
  assert.deepEqual(await w.points(0), l.full(0));
  l.rows.push({ t: 10_000, price: 111 }, { t: 11_000, price: 112 });
  assert.deepEqual([...await w.points(3_000)], l.full(3_000));
  assert.deepEqual(l.reads, [{ since: 0 }, { since: 3_000, after: 9_000 }]);
  assert.deepEqual([...await w.points(3_000)], l.full(3_000), "nothing new: unchanged");
});

Deno.test("PriceWindow - a late row is counted after the next full read; a window moved back reads all", async () => {
  const l = log();
  for (let t = 0; t < 10; t += 2) l.rows.push({ t: t * 1000, price: 100 + t });
  const w = new PriceWindow(l.load, 3);
  await w.points(0);
  l.rows.push({ t: 5_000, price: 1 }); // older than the newest held
  assert.equal((await w.points(0)).length, 5, "an incremental read does not see it");
  assert.deepEqual([...await w.points(0)], l.full(0), "the third read is a full one");
  assert.deepEqual(l.reads.at(-1), { since: 0 });
  await w.points(4_000);
  assert.deepEqual([...await w.points(1_000)], l.full(1_000), "moved back: a full read");
  assert.deepEqual(l.reads.at(-1), { since: 1_000 });
});
