import assert from "node:assert/strict";
import {
  eventTicker,
  hourlyEvents,
  nextSettlement,
  parseEventTicker,
  tickerMatchesStrikeDate,
} from "./tickers.ts";

const H = 3_600_000;

Deno.test("eventTicker() uses US Eastern time in summer (EDT, UTC-4)", () => {
  assert.equal(eventTicker("KXBTCD", Date.UTC(2026, 8, 1, 11)), "KXBTCD-26SEP0107");
  assert.equal(eventTicker("KXBTCD", Date.UTC(2025, 6, 26, 19)), "KXBTCD-25JUL2615");
});

Deno.test("eventTicker() uses US Eastern time in winter (EST, UTC-5) and rolls the date", () => {
  assert.equal(eventTicker("KXETHD", Date.UTC(2026, 0, 15, 3)), "KXETHD-26JAN1422");
  assert.equal(eventTicker("KXETHD", Date.UTC(2027, 0, 1, 5)), "KXETHD-27JAN0100");
});

Deno.test("hourlyEvents() names the current and next event across spring forward (8 Mar 2026)", () => {
  // 06:30Z = 01:30 EST; the clocks jump from 02:00 EST to 03:00 EDT at 07:00Z.
  const events = hourlyEvents("KXBTCD", Date.UTC(2026, 2, 8, 6, 30));
  assert.deepEqual(events, [
    { ticker: "KXBTCD-26MAR0803", settlesAt: Date.UTC(2026, 2, 8, 7) },
    { ticker: "KXBTCD-26MAR0804", settlesAt: Date.UTC(2026, 2, 8, 8) },
  ]);
  // The hour before: 01:00 EST settles at 06:00Z.
  assert.equal(hourlyEvents("KXBTCD", Date.UTC(2026, 2, 8, 5, 59))[0]!.ticker, "KXBTCD-26MAR0801");
});

Deno.test("hourlyEvents() across fall back (1 Nov 2026): hour 01 happens twice", () => {
  const first = hourlyEvents("KXBTCD", Date.UTC(2026, 10, 1, 4, 10)); // 00:10 EDT
  assert.deepEqual(first.map((e) => e.ticker), ["KXBTCD-26NOV0101", "KXBTCD-26NOV0101"]);
  assert.deepEqual(first.map((e) => e.settlesAt), [
    Date.UTC(2026, 10, 1, 5),
    Date.UTC(2026, 10, 1, 6),
  ]);
  assert.equal(hourlyEvents("KXBTCD", Date.UTC(2026, 10, 1, 6, 10))[0]!.ticker, "KXBTCD-26NOV0102");
});

Deno.test("parseEventTicker() inverts eventTicker() for every hour of both DST change days", () => {
  for (const day of [Date.UTC(2026, 2, 8), Date.UTC(2026, 10, 1)]) {
    for (let t = day; t < day + 30 * H; t += H) {
      const ticker = eventTicker("KXBTCD", t);
      const parsed = parseEventTicker(ticker);
      assert.ok(parsed?.instants.includes(t), `${ticker} names ${new Date(t).toISOString()}`);
      assert.ok(tickerMatchesStrikeDate(ticker, t));
      assert.ok(!tickerMatchesStrikeDate(ticker, t + 2 * H));
    }
  }
});

Deno.test("parseEventTicker() gives both instants of the repeated hour and none of the skipped", () => {
  assert.deepEqual(parseEventTicker("KXBTCD-26NOV0101")?.instants, [
    Date.UTC(2026, 10, 1, 5),
    Date.UTC(2026, 10, 1, 6),
  ]);
  assert.deepEqual(parseEventTicker("KXBTCD-26MAR0802")?.instants, []);
  assert.equal(parseEventTicker("KXBTCD-26SEP0107")?.series, "KXBTCD");
});

Deno.test("parseEventTicker() refuses what is not an hourly ticker", () => {
  for (const t of ["KXBTCD-26SEP01", "KXBTCD-26XYZ0107", "KXBTCD-26SEP0125", "KXBTCD-26FEB3007"]) {
    assert.equal(parseEventTicker(t), null, t);
  }
});

Deno.test("nextSettlement() is strictly after now", () => {
  assert.equal(nextSettlement(Date.UTC(2026, 0, 1, 10)), Date.UTC(2026, 0, 1, 11));
  assert.equal(nextSettlement(Date.UTC(2026, 0, 1, 10, 59, 59)), Date.UTC(2026, 0, 1, 11));
});
