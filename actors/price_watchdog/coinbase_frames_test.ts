import assert from "node:assert/strict";
import {
  parseAdvancedFrame,
  parseExchangeFrame,
  parseTime,
  subscribeMessages,
} from "./coinbase_frames.ts";

const at = (fields: Record<string, unknown>) =>
  JSON.stringify({
    client_id: "",
    timestamp: "2026-04-07T14:30:03.123456789Z",
    sequence_num: 4,
    ...fields,
  });

Deno.test("parseTime() reads RFC 3339 with nanoseconds and offsets, refuses other text", () => {
  assert.equal(
    parseTime("2026-04-07T14:30:03.123456789Z"),
    Date.UTC(2026, 3, 7, 14, 30, 3) + 123.456,
  );
  assert.equal(parseTime("2026-04-07T16:30:03+02:00"), Date.UTC(2026, 3, 7, 14, 30, 3));
  assert.equal(parseTime("2026-02-30T00:00:00Z"), null);
  assert.equal(parseTime("2026-04-07 14:30:10.000000000 +0000 UTC"), null);
});

Deno.test("parseAdvancedFrame() turns ticker snapshot/update events into ticks at the envelope time", () => {
  const f = parseAdvancedFrame(
    at({
      channel: "ticker",
      events: [
        { type: "snapshot", tickers: [{ type: "ticker", product_id: "BTC-USD", price: "1.5" }] },
        { type: "update", tickers: [{ product_id: "ETH-USD", price: "2" }] },
      ],
    }),
    "BTC-USD",
  );
  assert.equal(f.sequence, 4);
  assert.deepEqual(f.items, [
    { kind: "tick", price: "1.5", timeMs: Date.UTC(2026, 3, 7, 14, 30, 3) + 123.456 },
    { kind: "rejected", reason: "wrong_product", detail: "product ETH-USD" },
  ]);
});

Deno.test("parseAdvancedFrame() rejects malformed JSON, unknown channels and broken envelopes", () => {
  assert.equal(parseAdvancedFrame("{", "BTC-USD").items[0]?.kind, "rejected");
  const reason = (text: string) => {
    const i = parseAdvancedFrame(text, "BTC-USD").items[0];
    return i?.kind === "rejected" ? i.reason : i?.kind;
  };
  assert.equal(reason("{"), "malformed_json");
  assert.equal(reason(at({ channel: "weird", events: [] })), "unknown_channel");
  assert.equal(reason(JSON.stringify({ channel: "ticker", events: [] })), "schema");
  assert.equal(reason(at({ channel: "ticker", timestamp: "now", events: [] })), "schema");
  assert.equal(reason(at({ channel: "ticker", events: [{ type: "update" }] })), "schema");
  assert.equal(reason(at({ channel: "heartbeats", events: [{}] })), "schema");
});

Deno.test("parseAdvancedFrame() ignores unknown event types and channels we did not ask for", () => {
  const kinds = (text: string) => parseAdvancedFrame(text, "BTC-USD").items.map((i) => i.kind);
  assert.deepEqual(kinds(at({ channel: "ticker", events: [{ type: "new", tickers: [] }] })), [
    "ignored",
  ]);
  assert.deepEqual(kinds(at({ channel: "market_trades", events: [] })), ["ignored"]);
  assert.deepEqual(kinds(at({ channel: "subscriptions", events: [] })), ["ack"]);
  assert.deepEqual(
    kinds(at({ channel: "heartbeats", events: [{ current_time: "x", heartbeat_counter: "3" }] })),
    ["clock"],
  );
  assert.deepEqual(kinds(JSON.stringify({ type: "error", message: "authentication failure" })), [
    "server_error",
  ]);
});

Deno.test("parseExchangeFrame() reads ticker and heartbeat messages and ignores unknown types", () => {
  const tick = parseExchangeFrame(
    JSON.stringify({
      type: "ticker",
      sequence: 93525999403,
      product_id: "BTC-USD",
      price: "99728.83",
      time: "2024-12-07T18:00:00.542551Z",
      trade_id: 1,
    }),
    "BTC-USD",
  );
  assert.deepEqual(tick.items, [{
    kind: "tick",
    price: "99728.83",
    timeMs: Date.UTC(2024, 11, 7, 18, 0, 0) + 542.551,
  }]);
  const hb = parseExchangeFrame(
    JSON.stringify({
      type: "heartbeat",
      sequence: 90,
      last_trade_id: 20,
      product_id: "BTC-USD",
      time: "2014-11-07T08:19:28.464459Z",
    }),
    "BTC-USD",
  );
  assert.equal(hb.items[0]?.kind, "clock");
  assert.equal(parseExchangeFrame('{"type":"l2update"}', "BTC-USD").items[0]?.kind, "ignored");
  const noType = parseExchangeFrame("[1,2]", "BTC-USD").items[0];
  assert.ok(noType?.kind === "rejected" && noType.reason === "schema");
});

Deno.test("subscribeMessages() sends one message per channel for Advanced Trade, one for Exchange", () => {
  assert.deepEqual(subscribeMessages("advanced", "BTC-USD").map((m) => JSON.parse(m)), [
    { type: "subscribe", product_ids: ["BTC-USD"], channel: "ticker" },
    { type: "subscribe", product_ids: ["BTC-USD"], channel: "heartbeats" },
  ]);
  assert.deepEqual(subscribeMessages("exchange", "ETH-USD").map((m) => JSON.parse(m)), [
    { type: "subscribe", product_ids: ["ETH-USD"], channels: ["ticker", "heartbeat"] },
  ]);
});
