/**
 * Tests of the quick forms of the row checks ({@linkcode quickDecimal},
 * {@linkcode quickTimestamp}) against the full ones.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  decimal,
  type DecimalOptions,
  quickDecimal,
  quickTimestamp,
  RowError,
  timestamp,
} from "./_part.ts";
import { roundDecimal, toDecimal } from "./canonical.ts";

const AT = { file: "f.db", ref: "r", column: "price" };
const PRICE: DecimalOptions = { scale: 8, positive: true, maxAbs: 1e12 };
const PERCENT: DecimalOptions = { scale: 6, maxAbs: 1e4 };

Deno.test("quickDecimal() agrees with the full parse wherever it answers, and leaves the rest to it", () => {
  const values = [
    0,
    -0,
    1,
    -1,
    0.1,
    0.5,
    95000.37,
    95000.123456789,
    0.30000000000000004,
    1e-7,
    1e-6,
    123.45,
    -0.0025,
    9999.999999,
    1e4,
    1e12,
    1e21,
    5e-324,
    Number.NaN,
    Infinity,
    -Infinity,
  ];
  for (const options of [PRICE, PERCENT, {}]) {
    for (const v of values) {
      const q = quickDecimal(v, options);
      if (q === undefined) continue;
      let full: string | null;
      try {
        full = options.scale === undefined ? toDecimal(v) : roundDecimal(v, options.scale);
      } catch {
        assert.fail(`quickDecimal(${v}) answered ${q} where the full parse throws`);
      }
      assert.equal(q, full, `quickDecimal(${v}, ${JSON.stringify(options)})`);
    }
  }
  assert.equal(quickDecimal(null, PRICE), null);
  assert.equal(quickDecimal(undefined, PRICE), null);
  assert.equal(quickDecimal(95000.37, PRICE), "95000.37");
  for (const v of [0, -1, 1e12, 1e-9, Number.NaN, "1.5", 2n]) {
    assert.equal(quickDecimal(v, PRICE), undefined, String(v));
  }
  assert.equal(quickDecimal(1, { shift: -2 }), undefined);
});

Deno.test("decimal() still rejects what quickDecimal() leaves to it, naming the row", () => {
  assert.throws(
    () => decimal(-1, AT, PRICE),
    (e) => e instanceof RowError && e.reason === "impossible_value",
  );
  assert.throws(
    () => decimal(1e12, AT, PRICE),
    (e) => e instanceof RowError && e.reason === "impossible_value",
  );
  assert.throws(
    () => decimal("abc", AT, PRICE),
    (e) => e instanceof RowError && e.reason === "non_numeric",
  );
  assert.throws(
    () => decimal(Number.NaN, AT, PRICE),
    (e) => e instanceof RowError && e.reason === "non_numeric",
  );
  assert.equal(decimal(0.123456789, AT, PRICE), "0.12345679");
  assert.equal(decimal(56, AT, { shift: -2 }), "0.56");
});

Deno.test("quickTimestamp() answers as timestamp() for plain times and leaves folds, gaps and bad dates to it", () => {
  const nowMs = Date.UTC(2025, 11, 1);
  for (
    const t of [
      "2025-01-06T10:00:00",
      "2025-01-06 10:00:00",
      "2025-07-20T23:59:59",
      "2025-01-06T10:00:00.25",
    ]
  ) {
    assert.equal(
      quickTimestamp(t, nowMs),
      timestamp(t, { ...AT, column: "timestamp" }, { nowMs }),
      t,
    );
  }
  for (
    const t of [
      "2025-11-02T01:30:00", // fall-back hour
      "2025-03-09T02:30:00", // spring-forward gap
      "2025-12-03T00:00:00", // in the future
      "1999-12-31T18:59:59", // before 2000 (23:59:59Z)
      "2025-02-30T10:00:00",
      "not a time",
    ]
  ) assert.equal(quickTimestamp(t, nowMs), undefined, t);
  assert.equal(quickTimestamp(1736157600, nowMs), undefined);
  assert.equal(quickTimestamp(null, nowMs), undefined);
});
