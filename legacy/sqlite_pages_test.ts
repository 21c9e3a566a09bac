/**
 * Tests of {@linkcode sqlitePages}: seek paging over an index, sort paging without one, page
 * boundaries, NULLs first, an empty table.
 *
 * @module
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { orderIndexed, sqlitePages } from "./sqlite_pages.ts";

/** A table with `timestamp` as its key (indexed) or a plain column (not), holding `rows`. */
function table(indexed: boolean, rows: (string | null)[]): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  db.exec(
    indexed
      ? "create table t (timestamp text primary key, v integer)"
      : "create table t (id integer primary key autoincrement, timestamp text, v integer)",
  );
  const ins = db.prepare("insert into t (timestamp, v) values (?, ?)");
  for (const [i, r] of rows.entries()) ins.run(r, i);
  return db;
}

function pages(db: DatabaseSync, pageRows: number): unknown[][][] {
  return [
    ...sqlitePages(db, {
      table: "t",
      column: "timestamp",
      select: "rowid, timestamp, v",
      pageRows,
    }),
  ];
}

for (const indexed of [true, false]) {
  const how = indexed ? "by seek over the index" : "by one sort (no index)";

  Deno.test(`sqlitePages() reads ${how}: orderIndexed() says which`, () => {
    const db = table(indexed, ["b"]);
    assert.equal(orderIndexed(db, "t", "timestamp"), indexed);
    db.close();
  });

  Deno.test(`sqlitePages() ${how} gives every row once in (column, rowid) order, NULLs first`, () => {
    const keys = ["e", null, "b", "g", null, "a", "f", "c", null, "d"];
    const db = table(indexed, keys);
    for (const n of [1, 2, 3, 4, 10, 11, 100]) {
      const got = pages(db, n);
      const flat = got.flat();
      assert.deepEqual(flat.map((r) => r[1]), [
        null,
        null,
        null,
        "a",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
      ]);
      // NULLs among themselves by rowid; each row as [rowid, timestamp, v].
      assert.deepEqual(flat.slice(0, 3).map((r) => r[2]), [1, 4, 8]);
      assert.deepEqual(flat[3], [6, "a", 5]);
      for (const p of got) assert.ok(p.length >= 1 && p.length <= n, `page of ${p.length} by ${n}`);
    }
    db.close();
  });

  Deno.test(`sqlitePages() ${how} ends exactly at a page boundary without an empty page`, () => {
    const db = table(indexed, ["a", "b", "c", "d", "e", "f"]);
    assert.deepEqual(pages(db, 3).map((p) => p.map((r) => r[1])), [["a", "b", "c"], [
      "d",
      "e",
      "f",
    ]]);
    assert.deepEqual(pages(db, 2).map((p) => p.length), [2, 2, 2]);
    assert.deepEqual(pages(db, 6).map((p) => p.length), [6]);
    db.close();
    // NULLs exactly a page, then keys exactly a page.
    const nulls = table(indexed, [null, "b", null, "a"]);
    assert.deepEqual(pages(nulls, 2).map((p) => p.map((r) => r[1])), [[null, null], ["a", "b"]]);
    nulls.close();
  });

  Deno.test(`sqlitePages() ${how} of an empty table gives no page`, () => {
    const db = table(indexed, []);
    assert.deepEqual(pages(db, 3), []);
    db.close();
  });

  Deno.test(`sqlitePages() ${how} keeps rows of equal column value (no unique key) in rowid order`, () => {
    if (indexed) return; // a primary key holds a value once
    const db = table(false, ["b", "a", "b", "a", "b"]);
    assert.deepEqual(pages(db, 2).flat().map((r) => [r[1], r[0]]), [
      ["a", 2],
      ["a", 4],
      ["b", 1],
      ["b", 3],
      ["b", 5],
    ]);
    db.close();
  });
}

Deno.test("sqlitePages() seeks over a non-unique index across a page that ends inside a run of equal keys", () => {
  const db = new DatabaseSync(":memory:");
  db.exec("create table t (timestamp text, v integer); create index t_ts on t (timestamp)");
  const ins = db.prepare("insert into t (timestamp, v) values (?, ?)");
  for (const [i, k] of ["b", "a", "b", "a", "b", "c"].entries()) ins.run(k, i);
  assert.equal(orderIndexed(db, "t", "timestamp"), true);
  assert.deepEqual(pages(db, 2).map((p) => p.map((r) => `${r[1]}${r[0]}`)), [
    ["a2", "a4"],
    ["b1", "b3"],
    ["b5", "c6"],
  ]);
  db.close();
});
