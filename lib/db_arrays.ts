/**
 * Array parameters that are right from a pool's very first statement.
 *
 * postgres.js learns the array types of a server with one query (`fetch_types`), run when a pool's
 * first connection opens, and installs their serializers when that query's promise settles. The
 * pool's first statement is sent the moment that query's last message is read, before its promise
 * settles; on Deno the server's answer to the statement (its parameter types) can be read first,
 * and its array parameters then go out as `'' + value` ("1,2,3"), which PostgreSQL refuses with
 * 22P02 "malformed array literal" (porsager/postgres#789). A statement that is refused for its data
 * is split and its rows refused one by one, so a valid row could be dropped for it.
 *
 * `arrayTypes(serializers)` gives postgres.js serializers for the built-in array types (through its
 * public `types` option), used only in that window: once the types are fetched, postgres.js
 * replaces them with its own. Elements go through postgres.js's own element serializer (Dates as
 * ISO text, and so on) and are quoted and escaped as the array input syntax requires.
 *
 * @example
 * ```ts
 * import { arrayLiteral } from "./db_arrays.ts";
 * console.log(arrayLiteral(["a", null, 'q"b'], String)); // {"a",null,"q\"b"}
 * ```
 *
 * @module
 */

/** Element type OID → its array type OID, for the built-in types the system binds as arrays. */
export const BUILTIN_ARRAY_TYPES: Readonly<Record<number, number>> = {
  16: 1000, // bool
  20: 1016, // int8
  21: 1005, // int2
  23: 1007, // int4
  25: 1009, // text
  26: 1028, // oid
  700: 1021, // float4
  701: 1022, // float8
  1043: 1015, // varchar
  1082: 1182, // date
  1114: 1115, // timestamp
  1184: 1185, // timestamptz
  1700: 1231, // numeric
  2950: 2951, // uuid
  3802: 3807, // jsonb
};

/** An element serializer: a value to its text form. */
export type Serialize = (x: unknown) => string;

/** One value of the array input syntax: NULL, a nested array, or a quoted element. */
function element(x: unknown, serialize: Serialize): string {
  if (x === null || x === undefined) return "null";
  if (Array.isArray(x)) return arrayLiteral(x, serialize);
  return `"${serialize(x).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** The array input syntax of `xs` (`{"a","b"}`), each element through `serialize`. */
export function arrayLiteral(xs: readonly unknown[], serialize: Serialize): string {
  return `{${xs.map((x) => element(x, serialize)).join(",")}}`;
}

/** A postgres.js custom type (its `types` option). */
export interface PgType {
  to: number;
  from: number[];
  serialize: (x: unknown) => unknown;
  parse: (x: string) => unknown;
}

/**
 * The `types` entries that serialize the built-in arrays before postgres.js has fetched its own.
 * `serializers` is read when a value is serialized (the pool's `options.serializers`, filled in
 * after the pool is made); a value that is not an array is passed through as postgres.js does.
 * No parser is given (`from` is empty), so postgres.js installs its own pair on fetching types.
 */
export function arrayTypes(
  serializers: () => Record<number, Serialize | undefined>,
): Record<string, PgType> {
  const types: Record<string, PgType> = {};
  for (const [elem, array] of Object.entries(BUILTIN_ARRAY_TYPES)) {
    types[`recio_array_${array}`] = {
      to: array,
      from: [],
      serialize: (xs) => {
        if (!Array.isArray(xs)) return xs;
        const own = serializers()[Number(elem)];
        return arrayLiteral(xs, own ?? ((x) => String(x)));
      },
      parse: (x) => x,
    };
  }
  return types;
}
