import assert from "node:assert/strict";
import { checkRow, copyText, fitPercents, isoFormatter, unnestColumns } from "./store_format.ts";

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

Deno.test("copyText() writes one tab-separated line per row of the range, nulls as \\N, complete as t/f", () => {
  const t = Date.UTC(2026, 0, 1, 0, 0, 59);
  const rows = [
    {
      secondMs: t,
      price: "68000.12345678",
      receivedMs: t + 5,
      momentum: -0.5,
      deltas: [1e-7, null, 2, null, null, -9999.999999] as [
        number,
        null,
        number,
        null,
        null,
        number,
      ],
    },
    {
      secondMs: t + 1_000,
      price: "7",
      receivedMs: t + 1_250,
      momentum: null,
      deltas: [null, null, null, null, null, null] as [null, null, null, null, null, null],
      complete: false,
    },
  ];
  assert.equal(
    copyText(rows, 0, 2),
    "2026-01-01T00:00:59.000Z\t68000.12345678\t-0.5\t1e-7\t\\N\t2\t\\N\t\\N\t-9999.999999\t" +
      "2026-01-01T00:00:59.005Z\tt\n" +
      "2026-01-01T00:01:00.000Z\t7\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t2026-01-01T00:01:00.250Z\tf\n",
  );
  assert.equal(copyText(rows, 1, 2).split("\n")[0]!.split("\t")[0], "2026-01-01T00:01:00.000Z");
});

Deno.test("unnestColumns() gives eleven column arrays: epoch ms, price, percents as text, complete as t/f", () => {
  const t = Date.UTC(2026, 0, 1);
  const cols = unnestColumns([
    {
      secondMs: t,
      price: "1.5",
      receivedMs: t + 7,
      momentum: 0.25,
      deltas: [0.1, null, null, null, null, 3] as [number, null, null, null, null, number],
    },
    {
      secondMs: t + 1_000,
      price: "2",
      receivedMs: t + 1_001,
      momentum: null,
      deltas: [null, null, null, null, null, null] as [null, null, null, null, null, null],
      complete: false,
    },
  ]);
  assert.equal(cols.length, 11);
  assert.deepEqual(cols.map((c) => c[0]), [
    String(t),
    "1.5",
    "0.25",
    "0.1",
    null,
    null,
    null,
    null,
    "3",
    String(t + 7),
    "t",
  ]);
  assert.deepEqual(cols.map((c) => c[1]), [
    String(t + 1_000),
    "2",
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    String(t + 1_001),
    "f",
  ]);
});

Deno.test("fitPercents() nulls only the percents beyond numeric(10, 6), or gives null when all fit", () => {
  const t = Date.UTC(2026, 0, 1);
  const row = {
    secondMs: t,
    price: "1",
    receivedMs: t,
    momentum: 9_999.999_999_4,
    deltas: [-9_999.999_999_4, null, 0, 1e-7, 5, -5] as [
      number,
      null,
      number,
      number,
      number,
      number,
    ],
  };
  assert.equal(fitPercents(row), null);
  const fitted = fitPercents({
    ...row,
    momentum: Number.NaN,
    deltas: [9_999.999_999_5, null, Infinity, 1, -1e9, 2],
  });
  assert.equal(fitted?.momentum, null);
  assert.deepEqual(fitted?.deltas, [null, null, null, 1, null, 2]);
  assert.equal(fitted?.price, "1");
});
