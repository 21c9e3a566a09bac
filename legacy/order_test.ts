/**
 * Tests of {@linkcode KeyOrder}: group sorting, repeated rows, keys out of order.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Keyed, KeyOrder, type ReadStats } from "./order.ts";
import { RowError } from "./_row_error.ts";
import type { SourceRow } from "./_part.ts";

const part = { keyOf: (v: readonly (string | null)[]) => [v[0] ?? ""] };
const FILE = "/legacy/btc_price_history.db";

function row(key: string, value: string, group?: string): SourceRow {
  return { values: [key, value], ref: `timestamp=${key}`, group };
}

/** Pushes `rows` one at a time and returns the keys put out, in order. */
function ordered(rows: SourceRow[], stats: ReadStats = { duplicates: 0 }): string[] {
  const order = new KeyOrder(part, FILE, stats);
  const out: Keyed[] = [];
  for (const r of rows) order.push(r, out);
  order.end(out);
  return out.map((r) => r.key[0]!);
}

Deno.test("KeyOrder sorts the rows of one group (a fall-back hour) by key and keeps the rest as read", () => {
  assert.deepEqual(
    ordered([
      row("a", "1"),
      row("d", "1", "fold"),
      row("b", "1", "fold"),
      row("c", "1", "fold"),
      row("e", "1"),
    ]),
    ["a", "b", "c", "d", "e"],
  );
});

Deno.test("KeyOrder puts out a group only when it ends (a next row or end())", () => {
  const order = new KeyOrder(part, FILE, { duplicates: 0 });
  const out: Keyed[] = [];
  order.push(row("b", "1", "fold"), out);
  order.push(row("a", "1", "fold"), out);
  assert.equal(out.length, 0);
  order.end(out);
  assert.deepEqual(out.map((r) => r.key[0]), ["a", "b"]);
});

Deno.test("KeyOrder sorts two groups one after the other, each on its own", () => {
  assert.deepEqual(
    ordered([row("b", "1", "g1"), row("a", "1", "g1"), row("d", "1", "g2"), row("c", "1", "g2")]),
    ["a", "b", "c", "d"],
  );
});

Deno.test("KeyOrder skips an identical repeated row and counts it", () => {
  const stats = { duplicates: 0 };
  assert.deepEqual(ordered([row("a", "1"), row("a", "1"), row("b", "2")], stats), ["a", "b"]);
  assert.equal(stats.duplicates, 1);
  // Inside a group too: sorted next to each other, then skipped.
  const inGroup = { duplicates: 0 };
  assert.deepEqual(
    ordered([row("b", "1", "g"), row("a", "1", "g"), row("b", "1", "g")], inGroup),
    ["a", "b"],
  );
  assert.equal(inGroup.duplicates, 1);
});

Deno.test("KeyOrder throws a row error naming the file for a repeated key with other values", () => {
  assert.throws(
    () => ordered([row("a", "1"), row("a", "2")]),
    (e) =>
      e instanceof RowError && e.reason === "invalid" &&
      e.message ===
        `Cannot import legacy file "${FILE}": row timestamp=a: repeats key a with other values`,
  );
});

Deno.test("KeyOrder throws a row error naming the file for a key out of order", () => {
  assert.throws(
    () => ordered([row("b", "1"), row("a", "1")]),
    (e) =>
      e instanceof RowError &&
      e.message === `Cannot import legacy file "${FILE}": row timestamp=a: is out of key order ` +
          `(after b)`,
  );
  // A group sorts only within itself: a group key below the row before it is out of order.
  assert.throws(
    () => ordered([row("c", "1"), row("b", "1", "g"), row("d", "1", "g")]),
    (e) => e instanceof RowError && /is out of key order \(after c\)/.test(e.message),
  );
});

Deno.test("KeyOrder of no rows puts out nothing", () => {
  assert.deepEqual(ordered([]), []);
});
