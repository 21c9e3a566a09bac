/**
 * Tests of the source side of the digest parity: {@linkcode copyLine} and
 * {@linkcode SourceHasher} (the target side runs on a real database in tests/legacy_bulk_test.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyLine, SourceHasher, WINDOW_ROWS } from "./digest.ts";
import type { Column } from "./_sql.ts";
import type { Keyed } from "./order.ts";

const COLUMNS: Column[] = [
  { name: "timestamp", type: "timestamptz" },
  { name: "price", type: "numeric", scale: 8 },
  { name: "momentum", type: "numeric", scale: 6 },
];

Deno.test("copyLine() writes a row as PostgreSQL prints it (ISO, UTC, each numeric at its scale, \\N)", () => {
  assert.equal(
    copyLine(["2025-01-06T05:00:00.000000Z", "95000", null], COLUMNS),
    "2025-01-06 05:00:00+00\t95000.00000000\t\\N\n",
  );
  assert.equal(
    copyLine(["2025-01-06T05:00:00.120000Z", "-0.5", "1.123456"], COLUMNS),
    "2025-01-06 05:00:00.12+00\t-0.50000000\t1.123456\n",
  );
  assert.equal(
    copyLine(["2025-01-06T05:00:00.000001Z", "1.12345678", "0"], COLUMNS),
    "2025-01-06 05:00:00.000001+00\t1.12345678\t0.000000\n",
  );
});

Deno.test("copyLine() throws on a value with more fraction digits than its column's scale", () => {
  assert.throws(
    () => copyLine(["2025-01-06T05:00:00.000000Z", "1.123456789", null], COLUMNS),
    /price "1\.123456789" has more than 8 fraction digits/,
  );
});

function keyed(i: number): Keyed {
  const t = new Date(Date.UTC(2025, 0, 6) + i * 1000).toISOString().replace(/\.\d+Z$/, ".000000Z");
  return { values: [t, String(i), null], key: [t], ref: t };
}

Deno.test("SourceHasher hashes every row as parity does and each window of WINDOW_ROWS COPY lines", () => {
  const n = WINDOW_ROWS + 3;
  const h = new SourceHasher();
  const all = createHash("sha256");
  const windows = [createHash("sha256"), createHash("sha256")];
  for (let i = 0; i < n; i++) {
    const r = keyed(i);
    const line = copyLine(r.values, COLUMNS);
    h.add(r, line);
    all.update(JSON.stringify(r.values) + "\n");
    windows[i < WINDOW_ROWS ? 0 : 1]!.update(line);
  }
  const d = h.digest(2);
  assert.equal(d.rows, n);
  assert.equal(d.duplicates, 2);
  assert.equal(d.sha256, all.digest("hex"));
  assert.equal(d.last, keyed(n - 1).key[0]);
  assert.deepEqual(d.windows, [
    { start: keyed(0).key[0], rows: WINDOW_ROWS, sha256: windows[0]!.digest("hex") },
    { start: keyed(WINDOW_ROWS).key[0], rows: 3, sha256: windows[1]!.digest("hex") },
  ]);
});

Deno.test("SourceHasher of no rows: no window, no last key, the hash of nothing", () => {
  const d = new SourceHasher().digest(0);
  assert.deepEqual(d, {
    rows: 0,
    sha256: createHash("sha256").digest("hex"),
    duplicates: 0,
    windows: [],
    last: null,
  });
});

Deno.test("SourceHasher ends a window exactly at WINDOW_ROWS rows", () => {
  const h = new SourceHasher();
  for (let i = 0; i < WINDOW_ROWS; i++) h.add(keyed(i), copyLine(keyed(i).values, COLUMNS));
  const d = h.digest(0);
  assert.deepEqual(d.windows.map((w) => w.rows), [WINDOW_ROWS]);
});
