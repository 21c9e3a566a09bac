/** The channel names and the payload parsers: documented shapes accepted, anything else null. */
import assert from "node:assert/strict";
import {
  parseMarketSnapshotNotification,
  parsePriceNotification,
  parseStrikeTableNotification,
  priceChannel,
  strikeTableChannel,
} from "./notify_channels.ts";

Deno.test("notify_channels - channel names are lower-case per symbol; a bad symbol throws", () => {
  assert.equal(priceChannel("BTC"), "recio_price_btc");
  assert.equal(strikeTableChannel("eth"), "recio_strike_table_eth");
  assert.throws(() => priceChannel("btc; drop"), /Cannot name a channel for symbol/);
  assert.throws(() => strikeTableChannel(""), /Cannot name a channel/);
});

Deno.test("notify_channels - price payloads: the documented shape parses, others are null", () => {
  const ok = { symbol: "btc", timestamp: "2026-01-01T00:00:01.000Z", price: "97000.25", rows: 1 };
  assert.deepEqual(parsePriceNotification(JSON.stringify(ok)), ok);
  for (
    const bad of [
      "",
      "not json",
      "null",
      "[1]",
      JSON.stringify({ ...ok, symbol: "BTC!" }),
      JSON.stringify({ ...ok, timestamp: "yesterday" }),
      JSON.stringify({ ...ok, timestamp: "2026-13-45T99:99:99Z" }),
      JSON.stringify({ ...ok, price: 97000 }),
      JSON.stringify({ ...ok, price: "1e5" }),
      JSON.stringify({ ...ok, rows: -1 }),
      JSON.stringify({ ...ok, rows: 1.5 }),
    ]
  ) assert.equal(parsePriceNotification(bad), null, bad);
});

Deno.test("notify_channels - strike table and market snapshot payloads", () => {
  const t = { symbol: "btc", cycleAt: "2026-01-01T00:00:01.000Z" };
  assert.deepEqual(parseStrikeTableNotification(JSON.stringify(t)), t);
  assert.deepEqual(parseStrikeTableNotification(JSON.stringify({ ...t, stale: true })), {
    ...t,
    stale: true,
  });
  assert.equal(parseStrikeTableNotification(JSON.stringify({ ...t, stale: "yes" })), null);
  assert.equal(parseStrikeTableNotification(JSON.stringify({ symbol: "btc" })), null);
  const m = { event: "KXBTCD-26NOV2415", series: "KXBTCD", observedAt: t.cycleAt, markets: 75 };
  assert.deepEqual(parseMarketSnapshotNotification(JSON.stringify(m)), m);
  assert.equal(parseMarketSnapshotNotification(JSON.stringify({ ...m, series: "" })), null);
  assert.equal(parseMarketSnapshotNotification(JSON.stringify({ ...m, markets: "75" })), null);
  assert.equal(parseMarketSnapshotNotification("{"), null);
});
