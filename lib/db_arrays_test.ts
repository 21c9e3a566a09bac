/**
 * Array parameters before postgres.js has fetched the server's array types, against a real
 * server: `fetch_types: false` holds a pool in that state for good (the window a pool's first
 * statement can fall into), so the failure and its fix are both deterministic here.
 *
 * @module
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { arrayLiteral, arrayTypes, BUILTIN_ARRAY_TYPES, type Serialize } from "./db_arrays.ts";
import { createSql, type Sql } from "./db.ts";
import { createTestDb } from "../tests/_db.ts";

/** A pool that never fetches array types, with or without the fallback serializers. */
function unfetched(url: string, fallback: boolean): Sql {
  const sql: Sql = postgres(url, {
    max: 1,
    fetch_types: false,
    onnotice: () => {},
    types: fallback
      ? arrayTypes(() =>
        (sql as unknown as { options: { serializers: Record<number, Serialize> } }).options
          .serializers
      )
      : {},
  }) as unknown as Sql;
  return sql;
}

Deno.test("arrayLiteral() quotes and escapes elements, keeps nulls and nests arrays", () => {
  assert.equal(arrayLiteral([], String), "{}");
  assert.equal(arrayLiteral(["a", null, undefined], String), '{"a",null,null}');
  assert.equal(
    arrayLiteral(['q"b', "back\\slash", "{,}"], String),
    '{"q\\"b","back\\\\slash","{,}"}',
  );
  assert.equal(arrayLiteral([[1, 2], [3, null]], String), '{{"1","2"},{"3",null}}');
});

Deno.test("without the fallback, a pool that has not fetched array types sends an unstorable array (the bug)", async () => {
  await using db = await createTestDb({ migrated: false });
  const sql = unfetched(db.url, false);
  try {
    await assert.rejects(
      sql`select count(*)::int as n from unnest(${["1", "2"] as unknown as string}::int8[])`,
      (e: { code?: string }) => e.code === "22P02",
    );
  } finally {
    await sql.end();
  }
});

Deno.test("with the fallback, every built-in array type round-trips before array types are fetched", async () => {
  await using db = await createTestDb({ migrated: false });
  const sql = unfetched(db.url, true);
  const t = new Date(Date.UTC(2026, 6, 1, 12, 0, 1));
  // Strings and numbers, as the system binds arrays: postgres.js types a plain array by its first
  // element, so arrays of booleans or Dates go out as one bool or timestamptz in any state.
  const cases: [string, unknown[], string][] = [
    [
      "int8",
      ["1782950400000", null, "-9223372036854775808"],
      "{1782950400000,NULL,-9223372036854775808}",
    ],
    ["int4", [1, 2, -3], "{1,2,-3}"],
    ["int2", [7], "{7}"],
    ["numeric", ["68000.12345678", "0.00000001", null], "{68000.12345678,0.00000001,NULL}"],
    ["float8", [1.5, -0.25], "{1.5,-0.25}"],
    ["float4", [0.5], "{0.5}"],
    [
      "text",
      ['a "quoted", {braced}', "back\\slash", "", null, "NULL"],
      '{"a \\"quoted\\", {braced}","back\\\\slash","",NULL,"NULL"}',
    ],
    ["varchar", ["KXBTCD-26JUL0112"], "{KXBTCD-26JUL0112}"],
    ["timestamptz", [t.toISOString()], '{"2026-07-01 12:00:01+00"}'],
    ["date", ["2026-07-01"], "{2026-07-01}"],
    ["uuid", ["00000000-0000-0000-0000-000000000001"], "{00000000-0000-0000-0000-000000000001}"],
    ["jsonb", [{ a: 1 }], '{"{\\"a\\": 1}"}'],
  ];
  try {
    await sql`set timezone = 'UTC'`;
    for (const [type, values, expected] of cases) {
      const [r] = await sql.unsafe<{ v: string }[]>(`select $1::${type}[]::text as v`, [
        values as never,
      ]);
      assert.equal(r!.v, expected, type);
    }
    // Every array type the module covers is one the server has, under that element.
    const known = await sql<{ elem: number; arr: number }[]>`
      select typelem::int as elem, oid::int as arr from pg_type
      where oid = any(${Object.values(BUILTIN_ARRAY_TYPES).map(
      String,
    ) as unknown as string}::oid[])`;
    assert.equal(known.length, Object.keys(BUILTIN_ARRAY_TYPES).length);
    for (const k of known) assert.equal(BUILTIN_ARRAY_TYPES[k.elem], k.arr);
  } finally {
    await sql.end();
  }
});

Deno.test("createSql() pools hand over to postgres.js's own array types once fetched", async () => {
  await using db = await createTestDb({ migrated: false });
  const sql = createSql(db.url, { max: 2 });
  try {
    const [r] = await sql<{ a: string[]; n: number }[]>`
      select array['x', 'y"z']::text[] as a,
        (select count(*)::int from unnest(${["1", "2", "3"] as unknown as string}::int8[])) as n`;
    assert.deepEqual(r!.a, ["x", 'y"z'], "arrays are parsed by postgres.js's own parser");
    assert.equal(r!.n, 3);
  } finally {
    await sql.end();
  }
});
