import assert from "node:assert/strict";
import type { GapRow, PriceRow } from "./store_format.ts";
import { WriteBuffer } from "./write_buffer.ts";

const T = Date.UTC(2026, 0, 1);
const NONE: PriceRow["deltas"] = [null, null, null, null, null, null];
const row = (s: number): PriceRow => ({
  secondMs: T + s * 1000,
  price: String(100 + s),
  receivedMs: T + s * 1000,
  momentum: null,
  deltas: NONE,
});
const seconds = (rows: readonly PriceRow[]) => rows.map((r) => (r.secondMs - T) / 1000);
const gap: GapRow = { fromMs: T, toMs: T + 6_000, cause: "silence" };

Deno.test("WriteBuffer.take() gives the oldest rows in arrival order with every record; commit() takes them off", () => {
  const b = new WriteBuffer(10);
  for (const s of [1, 2, 3, 4, 5]) b.push(row(s));
  b.pushGap(gap);
  assert.equal(b.pending, 5);
  assert.equal(b.hasRecords, true);
  const batch = b.take(3);
  assert.deepEqual(seconds(batch.rows), [1, 2, 3]);
  assert.deepEqual(batch.gaps, [gap]);
  assert.equal(batch.drop, null);
  b.push(row(6)); // arrives while the batch is written
  b.commit(batch);
  assert.equal(b.hasRecords, false);
  assert.deepEqual(seconds(b.take(10).rows), [4, 5, 6]);
});

Deno.test("WriteBuffer.release() keeps the whole batch, rows, gaps and drop record, for the next take()", () => {
  const b = new WriteBuffer(3);
  for (const s of [1, 2, 3, 4]) b.push(row(s));
  b.pushGap(gap);
  const first = b.take(2);
  b.release();
  const again = b.take(2);
  assert.deepEqual(seconds(again.rows), seconds(first.rows));
  assert.deepEqual(again.gaps, first.gaps);
  assert.deepEqual(again.drop, { n: 1, first: T + 1_000, last: T + 1_000 });
  b.commit(again);
  assert.equal(b.empty, false);
  assert.deepEqual(seconds(b.take(10).rows), [4]);
});

Deno.test("WriteBuffer.push() beyond the limit drops the oldest rows into one drop record", () => {
  const b = new WriteBuffer(3);
  const dropped = [1, 2, 3, 4, 5, 6].map((s) => b.push(row(s)));
  assert.deepEqual(dropped, [0, 0, 0, 1, 1, 1]);
  assert.equal(b.pending, 3);
  const batch = b.take(10);
  assert.deepEqual(seconds(batch.rows), [4, 5, 6], "newest kept, in order");
  assert.deepEqual(batch.drop, { n: 3, first: T + 1_000, last: T + 3_000 });
  b.commit(batch);
  assert.equal(b.empty, true);
  assert.equal(b.hasRecords, false);
});

Deno.test("WriteBuffer.push() never drops rows a write in flight holds, and rows dropped meanwhile stay on record", () => {
  const b = new WriteBuffer(4);
  for (const s of [1, 2, 3, 4, 5]) b.push(row(s)); // 1 dropped
  const batch = b.take(2); // holds 2 and 3, and the drop record of 1
  assert.deepEqual(seconds(batch.rows), [2, 3]);
  for (const s of [6, 7]) assert.equal(b.push(row(s)), 1);
  // Dropped while 2 and 3 were in flight: 4, then 5 (the oldest not held).
  assert.equal(b.pending, 4);
  b.commit(batch);
  const next = b.take(10);
  assert.deepEqual(seconds(next.rows), [6, 7]);
  assert.equal(next.drop?.n, 2, "the drops since the batch was taken");
  assert.equal(next.drop?.last, T + 5_000);
});

Deno.test("WriteBuffer.empty is true only without rows, gap records and drop record", () => {
  const b = new WriteBuffer(1);
  assert.equal(b.empty, true);
  b.pushGap(gap);
  assert.equal(b.empty, false);
  assert.equal(b.pending, 0);
  b.commit(b.take(1));
  assert.equal(b.empty, true);
  b.push(row(1));
  b.push(row(2));
  const batch = b.take(1);
  assert.deepEqual(seconds(batch.rows), [2]);
  assert.equal(batch.drop?.n, 1);
  b.commit(batch);
  assert.equal(b.empty, true);
});

Deno.test("WriteBuffer.push() with retain (a standby) trims the oldest rows and older gap records without a drop record", () => {
  const b = new WriteBuffer(3);
  b.pushGap({ fromMs: T, toMs: T + 2_000, cause: "silence" }); // ends before row 3
  b.pushGap({ fromMs: T + 2_000, toMs: T + 4_000, cause: "close" });
  const trimmed = [1, 2, 3, 4, 5, 6].map((s) => b.push(row(s), true));
  assert.deepEqual(trimmed, [0, 0, 0, 1, 1, 1]);
  const batch = b.take(10);
  assert.deepEqual(seconds(batch.rows), [4, 5, 6], "the newest seconds retained");
  assert.equal(batch.drop, null, "trimming a retention is no drop");
  assert.deepEqual(batch.gaps.map((g) => g.cause), ["close"], "a gap ending by row 4 is kept");
});

Deno.test("WriteBuffer.push() with retain keeps the gap records a write in flight holds", () => {
  const b = new WriteBuffer(2);
  b.pushGap(gap); // ends at second 6
  const batch = b.take(10); // holds the gap record
  for (const s of [7, 8, 9]) b.push(row(s), true);
  b.commit(batch);
  assert.equal(b.hasRecords, false, "the gap record was taken off by its commit, not twice");
  assert.deepEqual(seconds(b.take(10).rows), [8, 9]);
});

Deno.test("WriteBuffer.discardThrough() takes off the rows at or before a second and the gaps that end by then", () => {
  const b = new WriteBuffer(10);
  for (const s of [1, 2, 3, 4, 5]) b.push(row(s));
  b.pushGap({ fromMs: T, toMs: T + 3_000, cause: "restart" });
  b.pushGap({ fromMs: T + 2_000, toMs: T + 5_000, cause: "close" }); // ends after second 3
  assert.deepEqual(b.discardThrough(T + 3_000), { rows: 3, gaps: 1 });
  const batch = b.take(10);
  assert.deepEqual(seconds(batch.rows), [4, 5]);
  assert.deepEqual(batch.gaps.map((g) => g.cause), ["close"]);
  assert.throws(() => b.discardThrough(T + 4_000), /while a write holds them/);
  b.release();
  assert.deepEqual(b.discardThrough(T + 9_000), { rows: 2, gaps: 1 });
  assert.equal(b.empty, true);
});
