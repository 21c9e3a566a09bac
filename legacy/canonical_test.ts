import assert from "node:assert/strict";
import {
  centiCentsToDollars,
  centsToDollars,
  dollars,
  easternToUtc,
  easternToUtcUncached,
  legacyBoolean,
  roundDecimal,
  strikeText,
  toDecimal,
} from "./canonical.ts";
import { resolveFold } from "./ambiguity.ts";

Deno.test("toDecimal() writes doubles as their shortest plain decimal", () => {
  assert.equal(toDecimal(0.1), "0.1");
  assert.equal(toDecimal(1e-7), "0.0000001");
  assert.equal(toDecimal(1.5e21), "1500000000000000000000");
  assert.equal(toDecimal("065000.500"), "65000.5");
  assert.equal(toDecimal("-0.000"), "0");
  assert.equal(toDecimal(12n), "12");
  assert.throws(() => toDecimal(Number.NaN), /not a finite number/);
  assert.throws(() => toDecimal("12abc"), /not a decimal number/);
  assert.throws(() => toDecimal(""), /not a decimal number/);
});

Deno.test("centsToDollars() and centiCentsToDollars() shift exactly, without float rounding", () => {
  assert.equal(centsToDollars(56), "0.56");
  assert.equal(centsToDollars(12399.5), "123.995");
  assert.equal(centsToDollars(-25), "-0.25");
  assert.equal(centsToDollars("0"), "0");
  assert.equal(centiCentsToDollars(123456), "12.3456");
  assert.equal(centiCentsToDollars(7), "0.0007");
  assert.equal(dollars(0.29), "0.29");
});

Deno.test("roundDecimal() rounds half away from zero to the target scale", () => {
  assert.equal(roundDecimal("0.125", 2), "0.13");
  assert.equal(roundDecimal("-0.125", 2), "-0.13");
  assert.equal(roundDecimal("0.124999", 2), "0.12");
  assert.equal(roundDecimal("9.995", 2), "10");
  assert.equal(roundDecimal(95000.123456789, 8), "95000.12345679");
  assert.equal(roundDecimal("1.5", 0), "2");
  assert.equal(roundDecimal("1.25", 4), "1.25");
});

Deno.test("legacyBoolean() accepts true/false, 0/1 and null only", () => {
  assert.equal(legacyBoolean(1), true);
  assert.equal(legacyBoolean(0), false);
  assert.equal(legacyBoolean(1n), true);
  assert.equal(legacyBoolean(true), true);
  assert.equal(legacyBoolean(false), false);
  assert.equal(legacyBoolean(null), null);
  assert.equal(legacyBoolean(undefined), null);
  for (const bad of [2, -1, 0.5, "yes", "true", "1", "", {}, []]) {
    assert.throws(() => legacyBoolean(bad), /is not a boolean/, JSON.stringify(bad));
  }
});

Deno.test("easternToUtc() converts naive ET with the US daylight-saving rules", () => {
  assert.deepEqual(easternToUtc("2025-01-15T10:00:00"), {
    kind: "ok",
    utc: "2025-01-15T15:00:00.000000Z",
    ms: Date.UTC(2025, 0, 15, 15),
  });
  assert.equal(
    (easternToUtc("2025-07-26 15:00:00.25") as { utc: string }).utc,
    "2025-07-26T19:00:00.250000Z",
  );
  assert.equal(
    (easternToUtc("2025-03-09T01:59:59") as { utc: string }).utc,
    "2025-03-09T06:59:59.000000Z",
  );
  assert.equal(
    (easternToUtc("2025-03-09T03:00:00") as { utc: string }).utc,
    "2025-03-09T07:00:00.000000Z",
  );
  assert.equal(
    (easternToUtc("2006-04-02T03:00:00") as { utc: string }).utc,
    "2006-04-02T07:00:00.000000Z",
  );
});

Deno.test("easternToUtc() reports 2025-03-09 02:30 ET as nonexistent", () => {
  assert.equal(easternToUtc("2025-03-09T02:30:00").kind, "nonexistent");
  assert.equal(easternToUtc("2025-03-09T02:00:00").kind, "nonexistent");
});

Deno.test("easternToUtc() reports 2025-11-02 01:30 ET as ambiguous with both instants", () => {
  const r = easternToUtc("2025-11-02T01:30:00");
  assert.equal(r.kind, "ambiguous");
  if (r.kind !== "ambiguous") return;
  assert.equal(r.first, "2025-11-02T05:30:00.000000Z");
  assert.equal(r.second, "2025-11-02T06:30:00.000000Z");
  assert.equal(easternToUtc("2025-11-02T02:00:00").kind, "ok");
  assert.equal(easternToUtc("2025-11-02T00:59:59").kind, "ok");
});

Deno.test("easternToUtc() takes Z and offsets as written and rejects impossible dates", () => {
  assert.equal(
    (easternToUtc("2025-07-26T19:00:05Z") as { utc: string }).utc,
    "2025-07-26T19:00:05.000000Z",
  );
  assert.equal(
    (easternToUtc("2025-07-26T15:00:05-04:00") as { utc: string }).utc,
    "2025-07-26T19:00:05.000000Z",
  );
  assert.equal(easternToUtc("2025-02-30T10:00:00").kind, "invalid");
  assert.equal(easternToUtc("yesterday").kind, "invalid");
});

Deno.test("resolveFold() splits the repeated hour at the single backward step in rowid order", () => {
  const m = resolveFold([
    { id: 1, text: "2025-11-02T01:40:00" },
    { id: 2, text: "2025-11-02T01:50:00" },
    { id: 5, text: "2025-11-02T01:10:00" },
    { id: 6, text: "2025-11-02T01:45:00" },
  ]);
  assert.deepEqual([...m], [[1, "first"], [2, "first"], [5, "second"], [6, "second"]]);
  assert.equal(
    resolveFold([{ id: 1, text: "2025-11-02T01:10:00" }, { id: 2, text: "2025-11-02T01:20:00" }])
      .size,
    0,
  );
  assert.equal(
    resolveFold([
      { id: 1, text: "2025-11-02T01:30:00" },
      { id: 2, text: "2025-11-02T01:10:00" },
      { id: 3, text: "2025-11-02T01:05:00" },
    ]).size,
    0,
  );
});

Deno.test("strikeText() reads legacy strike text such as $104,250", () => {
  assert.equal(strikeText("$104,250"), "104250");
  assert.equal(strikeText(114749.99), "114749.99");
  assert.throws(() => strikeText("abc"));
});

Deno.test("easternToUtc() with its per-hour shortcut agrees with easternToUtcUncached() every hour of two years", () => {
  const t0 = Date.UTC(2024, 0, 1);
  for (let h = 0; h < 2 * 366 * 24; h++) {
    const hour = new Date(t0 + h * 3_600_000).toISOString().slice(0, 13);
    for (const rest of [":00:00", ":30:15", ":59:59"]) {
      for (const text of [`${hour}${rest}`, `${hour.replace("T", " ")}${rest}`]) {
        assert.deepEqual(easternToUtc(text), easternToUtcUncached(text), text);
      }
    }
  }
  for (
    const text of [
      "2025-02-30T10:00:00",
      "2025-01-06T10:60:00",
      "2025-01-06T10:00:60",
      "2025-01-06T24:00:00",
      "2025-01-06X10:00:00",
      "2025-01-06T1a:00:00",
      " 2025-01-06T10:00:0",
    ]
  ) assert.deepEqual(easternToUtc(text), easternToUtcUncached(text), text);
});
