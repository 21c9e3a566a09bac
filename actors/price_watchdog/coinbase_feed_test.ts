import assert from "node:assert/strict";
import { ManualClock } from "../../lib/clock.ts";
import {
  backoffDelay,
  createCoinbaseFeed,
  DEFAULT_BACKOFF,
  type FeedStatus,
  type SocketHandlers,
} from "./coinbase_feed.ts";

Deno.test("backoffDelay() retries first within a second, then grows exponentially to the cap", () => {
  assert.ok(backoffDelay(1, DEFAULT_BACKOFF, () => 0) <= 1_000);
  assert.equal(backoffDelay(1, DEFAULT_BACKOFF, () => 0), 500);
  assert.equal(backoffDelay(1, DEFAULT_BACKOFF, () => 1), 400, "jitter takes up to 20 % off");
  assert.equal(backoffDelay(3, DEFAULT_BACKOFF, () => 0), 2_000);
  assert.equal(backoffDelay(30, DEFAULT_BACKOFF, () => 0), 15_000);
});

Deno.test("createCoinbaseFeed() reconnects on a sequence gap and throws after maxAttempts sessions without data", async () => {
  const sessions: SocketHandlers[] = [];
  const sent: string[] = [];
  const statuses: FeedStatus["state"][] = [];
  const feed = createCoinbaseFeed({
    format: "advanced",
    url: "ws://fake",
    productId: "BTC-USD",
    clock: new ManualClock(),
    silenceMs: 10_000,
    maxAttempts: 2,
    backoff: { baseMs: 1, maxMs: 2, factor: 1, jitter: 0 },
    transport: (_url, h) => {
      sessions.push(h);
      const n = sessions.length;
      queueMicrotask(() => {
        h.onOpen();
        const frame = (seq: number) =>
          JSON.stringify({
            channel: "heartbeats",
            client_id: "",
            timestamp: "2026-01-01T00:00:00Z",
            sequence_num: seq,
            events: [{ current_time: "x", heartbeat_counter: seq }],
          });
        if (n === 1) {
          h.onMessage(frame(0));
          h.onMessage(frame(5)); // gap
        } else h.onClose(1006, "");
      });
      return {
        send: (t) => void sent.push(t),
        close: () => queueMicrotask(() => h.onClose(1000, "")),
      };
    },
  });
  const causes: string[] = [];
  const frames: unknown[] = [];
  await assert.rejects(
    feed.run({
      frame: (f) => void frames.push(f),
      status: (s) => void statuses.push(s.state),
      disconnected: (cause) => void causes.push(cause),
    }, new AbortController().signal),
    /2 reconnect attempts failed/,
  );
  assert.deepEqual(causes, ["sequence_gap", "close", "close"]);
  assert.equal(frames.length, 1, "the frame after the gap is not delivered");
  assert.equal(sent.length, 6, "two subscribe messages per session");
  assert.equal(statuses[statuses.length - 1], "failed");
  assert.equal(feed.status.state, "failed");
});
