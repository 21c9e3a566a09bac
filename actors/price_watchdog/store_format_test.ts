import assert from "node:assert/strict";
import { checkRow, isoFormatter } from "./store.ts";

Deno.test("isoFormatter() writes what toISOString() writes, across minutes, years and leap days", () => {
  const format = isoFormatter();
  const samples = [
    Date.UTC(2000, 0, 1),
    Date.UTC(2024, 1, 29, 23, 59, 59, 999),
    Date.UTC(2026, 2, 8, 7, 0, 0, 5), // a US DST change day (UTC is unaffected)
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  ];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 5_000; i++) samples.push(Date.UTC(2000, 0, 1) + Math.floor(next() * 8e12));
  // Runs of consecutive milliseconds and seconds exercise the cached minute prefix.
  for (let i = 0; i < 3_000; i++) samples.push(Date.UTC(2026, 0, 1, 0, 59, 58) + i * 7);
  for (const ms of samples) assert.equal(format(ms), new Date(ms).toISOString(), String(ms));
});

Deno.test("checkRow() refuses what the price log cannot take and the COPY text could not carry", () => {
  const t = Date.UTC(2026, 0, 1);
  const good = {
    secondMs: t,
    price: "1.5",
    receivedMs: t,
    momentum: null,
    deltas: [null, null, null, null, null, null] as [null, null, null, null, null, null],
  };
  assert.equal(checkRow(good), null);
  assert.equal(checkRow({ ...good, price: "999999999999.123456789012" }), null);
  for (
    const price of [
      "",
      "0",
      "0.0",
      "-1",
      "+1",
      "1e5",
      "1.",
      ".5",
      "NaN",
      "1\t2",
      "1\n",
      "1234567890123",
      " 1",
    ]
  ) {
    assert.match(checkRow({ ...good, price }) ?? "", /price/, JSON.stringify(price));
  }
  for (
    const secondMs of [t + 1, Number.NaN, Date.UTC(1999, 11, 31, 23, 59, 59), Date.UTC(10000, 0, 1)]
  ) {
    assert.match(checkRow({ ...good, secondMs }) ?? "", /second/, String(secondMs));
  }
  assert.match(checkRow({ ...good, receivedMs: 1.5 }) ?? "", /receive time/);
});

Deno.test("checkRow() refuses a price that rounds out of numeric(20, 8) and keeps those that round within", () => {
  const t = Date.UTC(2026, 0, 1);
  const at = (price: string) => ({
    secondMs: t,
    price,
    receivedMs: t,
    momentum: null,
    deltas: [null, null, null, null, null, null] as [null, null, null, null, null, null],
  });
  for (
    const price of ["0.000000001", "0.0000000049999", "000.000000004", "999999999999.999999995"]
  ) {
    assert.match(checkRow(at(price)) ?? "", /rounds out/, price);
  }
  for (
    const price of [
      "0.00000001",
      "0.000000005",
      "0.0000001",
      "999999999999.99999999",
      "999999999999.999999994",
      "999999999998.999999999",
    ]
  ) {
    assert.equal(checkRow(at(price)), null, price);
  }
});
