import assert from "node:assert/strict";
import { marketResult } from "./results.ts";
import { pickFollowed } from "./follow.ts";

const market = {
  ticker: "KXBTCD-26SEP0107-T99999.99",
  eventTicker: "KXBTCD-26SEP0107",
  status: "finalized",
  floorStrike: "99999.99",
  closeTime: "2026-09-01T11:00:00Z",
};

Deno.test("marketResult() reads a final market's result, value and settlement time", () => {
  assert.deepEqual(
    marketResult(
      { result: "yes", settlement_value_dollars: "1.0000", settlement_ts: "2026-09-01T11:02:00Z" },
      market,
    ),
    {
      ok: true,
      result: {
        ticker: market.ticker,
        eventTicker: market.eventTicker,
        strike: "99999.99",
        result: "yes",
        settlementValueDollars: "1.0000",
        closeTime: "2026-09-01T11:00:00Z",
        settledAt: "2026-09-01T11:02:00Z",
      },
    },
  );
  const settled = { ...market, status: "settled" };
  const value = (raw: Record<string, unknown>) => {
    const r = marketResult({ result: "no", ...raw }, settled);
    return r?.ok ? r.result.settlementValueDollars : r;
  };
  assert.equal(value({ settlement_value: 0 }), "0.00", "legacy cents");
  assert.equal(value({ settlement_value_dollars: 0.5 }), "0.5", "a JSON number");
  assert.equal(value({}), null, "no value sent");
  assert.equal(value({ settlement_value_dollars: "-0.0000" }), "-0.0000", "zero is not negative");
});

Deno.test("marketResult() has no result for a market that is not final yet", () => {
  for (const status of ["active", "closed", "determined", "disputed", "initialized"]) {
    assert.equal(marketResult({ result: "yes" }, { ...market, status }), null, status);
  }
});

Deno.test("marketResult() refuses a missing or unknown result, a negative or unreadable value, a bad time", () => {
  const reason = (raw: Record<string, unknown>) => {
    const r = marketResult(raw, market);
    return r && !r.ok ? r.reason : r;
  };
  assert.equal(reason({}), "result_missing");
  assert.equal(reason({ result: "" }), "result_missing");
  assert.equal(reason({ result: null }), "result_missing");
  assert.equal(reason({ result: "maybe" }), "result_unknown");
  assert.equal(reason({ result: 1 }), "result_unknown");
  assert.equal(
    reason({ result: "no", settlement_value_dollars: "-0.01" }),
    "settlement_value_negative",
  );
  assert.equal(reason({ result: "no", settlement_value: -100 }), "settlement_value_negative");
  assert.equal(
    reason({ result: "no", settlement_value_dollars: "1e2" }),
    "settlement_value_invalid",
  );
  assert.equal(reason({ result: "no", settlement_value: 0.5 }), "settlement_value_invalid");
  assert.equal(reason({ result: "no", settlement_value_dollars: {} }), "settlement_value_invalid");
  assert.equal(reason({ result: "no", settlement_ts: 1756724400 }), "settled_at_invalid");
  assert.equal(reason({ result: "no", settlement_ts: "yesterday" }), "settled_at_invalid");
  for (const result of ["yes", "no", "scalar", "void"]) {
    assert.equal(marketResult({ result }, market)?.ok, true, result);
  }
});

Deno.test("pickFollowed() polls never-polled events first, then the least recently polled, newest first on ties", () => {
  const e = (t: string, ms: number) => ({ eventTicker: t, strikeDate: new Date(ms) });
  const events = [e("A", 1), e("B", 2), e("C", 3), e("D", 4)];
  const polled = new Map([["A", 50], ["B", 10], ["D", 10]]);
  assert.deepEqual(pickFollowed(events, polled, 3).map((x) => x.eventTicker), ["C", "D", "B"]);
  assert.deepEqual(pickFollowed(events, new Map(), 2).map((x) => x.eventTicker), ["D", "C"]);
  assert.deepEqual(pickFollowed([], polled, 4), []);
});
