import assert from "node:assert/strict";
import { backoffDelay } from "../../lib/backoff.ts";
import { ManualClock } from "../../lib/clock.ts";
import {
  createCoinbaseFeed,
  DEFAULT_BACKOFF,
  type Discontinuity,
  type FeedStatus,
  type SocketHandlers,
} from "./coinbase_feed.ts";
import type { ParsedFrame } from "./coinbase_frames.ts";

Deno.test("backoffDelay() retries first within a second, then grows exponentially to the cap", () => {
  assert.ok(backoffDelay(1, DEFAULT_BACKOFF, () => 0) <= 1_000);
  assert.equal(backoffDelay(1, DEFAULT_BACKOFF, () => 0), 500);
  assert.equal(backoffDelay(1, DEFAULT_BACKOFF, () => 1), 400, "jitter takes up to 20 % off");
  assert.equal(backoffDelay(3, DEFAULT_BACKOFF, () => 0), 2_000);
  assert.equal(backoffDelay(30, DEFAULT_BACKOFF, () => 0), 15_000);
});

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const heartbeat = (seq: number, ms: number) =>
  JSON.stringify({
    channel: "heartbeats",
    client_id: "",
    timestamp: iso(ms),
    sequence_num: seq,
    events: [{ current_time: "x", heartbeat_counter: seq }],
  });
const ticker = (seq: number, ms: number, price: string) =>
  JSON.stringify({
    channel: "ticker",
    client_id: "",
    timestamp: iso(ms),
    sequence_num: seq,
    events: [{ type: "update", tickers: [{ product_id: "BTC-USD", price }] }],
  });
const ack = (seq: number) =>
  JSON.stringify({
    channel: "subscriptions",
    client_id: "",
    timestamp: iso(T0),
    sequence_num: seq,
    events: [{ subscriptions: {} }],
  });

/** A scripted transport: every socket it opens, with a way to close it from the "server". */
function scripted() {
  const sockets: { h: SocketHandlers; sent: string[]; closed: boolean }[] = [];
  const transport = (_url: string, h: SocketHandlers) => {
    const s = { h, sent: [] as string[], closed: false };
    sockets.push(s);
    queueMicrotask(() => h.onOpen());
    return {
      send: (t: string) => void s.sent.push(t),
      close: () => {
        if (s.closed) return;
        s.closed = true;
        queueMicrotask(() => h.onClose(1000, ""));
      },
    };
  };
  return { sockets, transport };
}

function recorder() {
  const frames: ParsedFrame[] = [];
  const breaks: Discontinuity[] = [];
  const causes: string[] = [];
  const statuses: FeedStatus["state"][] = [];
  return {
    frames,
    breaks,
    causes,
    statuses,
    sink: {
      frame: (f: ParsedFrame) => void frames.push(f),
      status: (s: FeedStatus) => void statuses.push(s.state),
      disconnected: (cause: string) => void causes.push(cause),
      discontinuity: (d: Discontinuity) => void breaks.push(d),
    },
    prices: () =>
      frames.flatMap((f) => f.items.flatMap((i) => (i.kind === "tick" ? [i.price] : []))),
    kinds: () => frames.flatMap((f) => f.items.map((i) => i.kind)),
  };
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 2_000 && !ok(); i++) await new Promise((r) => setTimeout(r, 1));
  assert.ok(ok(), "condition not met");
};

Deno.test("createCoinbaseFeed() keeps the connection on a sequence gap and delivers the frame that revealed it, after a discontinuity", async () => {
  const { sockets, transport } = scripted();
  const r = recorder();
  const abort = new AbortController();
  const feed = createCoinbaseFeed({
    format: "advanced",
    url: "ws://fake",
    productId: "BTC-USD",
    clock: new ManualClock(),
    silenceMs: 10_000,
    maxAttempts: 2,
    transport,
  });
  const run = feed.run(r.sink, abort.signal);
  await until(() => sockets.length === 1 && sockets[0]!.sent.length === 2);
  const h = sockets[0]!.h;
  h.onMessage(ack(0));
  h.onMessage(ack(1));
  h.onMessage(ticker(2, T0 + 100, "1.00"));
  h.onMessage(ticker(7, T0 + 1_200, "2.00")); // 3..6 lost
  h.onMessage(ticker(8, T0 + 1_300, "3.00"));
  h.onMessage(ticker(8, T0 + 1_300, "3.00")); // repeated sequence number
  h.onMessage(ticker(5, T0 + 900, "9.99")); // older sequence number
  assert.deepEqual(r.prices(), ["1.00", "2.00", "3.00"]);
  assert.deepEqual(r.breaks, [{
    cause: "sequence_gap",
    fromMs: T0 + 100,
    toMs: T0 + 1_200,
    lostFrames: 4,
  }]);
  assert.equal(r.kinds().filter((k) => k === "duplicate").length, 2);
  assert.equal(sockets.length, 1, "no reconnect for a gap");
  assert.deepEqual(r.causes, []);
  abort.abort();
  await run;
  assert.equal(feed.status.state, "stopped");
});

Deno.test("createCoinbaseFeed() hands over after silence: the new connection opens before the old one closes, and its frames follow without duplicates", async () => {
  const { sockets, transport } = scripted();
  const r = recorder();
  const abort = new AbortController();
  const feed = createCoinbaseFeed({
    format: "advanced",
    url: "ws://fake",
    productId: "BTC-USD",
    clock: new ManualClock(),
    silenceMs: 60,
    handoverMs: 10_000,
    maxAttempts: 2,
    transport,
  });
  const run = feed.run(r.sink, abort.signal);
  await until(() => sockets[0]?.sent.length === 2);
  const a = sockets[0]!;
  a.h.onMessage(ticker(0, T0 + 100, "1.00"));
  await until(() => sockets.length === 2); // silence: a second connection, the first kept
  assert.equal(a.closed, false, "the old connection stays open during the handover");
  assert.deepEqual(r.causes, ["silence"]);
  const b = sockets[1]!;
  await until(() => b.sent.length === 2);
  b.h.onMessage(ack(0));
  b.h.onMessage(ack(1));
  b.h.onMessage(ticker(2, T0 + 200, "2.00")); // queued: the old one has not closed yet
  b.h.onMessage(ticker(3, T0 + 300, "3.00"));
  assert.deepEqual(r.prices(), ["1.00"]);
  // The old connection wakes up (a stall) and proves live: closed, and what it sends until its
  // close event is used; the new one's copies of those trades are duplicates.
  a.h.onMessage(ticker(1, T0 + 200, "2.00"));
  assert.equal(a.closed, true);
  await until(() => r.statuses.at(-1) === "connected" && r.prices().length === 3);
  assert.deepEqual(r.prices(), ["1.00", "2.00", "3.00"]);
  assert.equal(r.kinds().filter((k) => k === "duplicate").length, 1);
  // Only the silence itself is a window without information; the handover added none.
  assert.deepEqual(r.breaks, [{
    cause: "silence",
    fromMs: T0 + 100,
    toMs: T0 + 200,
    lostFrames: null,
  }]);
  abort.abort();
  await run;
});

Deno.test("createCoinbaseFeed() reconnects at once after a close and reports the window until the new connection's first data", async () => {
  const { sockets, transport } = scripted();
  const r = recorder();
  const abort = new AbortController();
  const feed = createCoinbaseFeed({
    format: "advanced",
    url: "ws://fake",
    productId: "BTC-USD",
    clock: new ManualClock(),
    silenceMs: 10_000,
    maxAttempts: 2,
    transport,
  });
  const run = feed.run(r.sink, abort.signal);
  await until(() => sockets[0]?.sent.length === 2);
  sockets[0]!.h.onMessage(ticker(0, T0 + 100, "1.00"));
  sockets[0]!.closed = true;
  sockets[0]!.h.onClose(4000, "dropped");
  await until(() => sockets[1]?.sent.length === 2);
  sockets[1]!.h.onMessage(ack(0));
  sockets[1]!.h.onMessage(heartbeat(1, T0 + 2_500));
  assert.deepEqual(r.causes, ["close"]);
  assert.deepEqual(r.breaks, [{
    cause: "close",
    fromMs: T0 + 100,
    toMs: T0 + 2_500,
    lostFrames: null,
  }]);
  abort.abort();
  await run;
});

Deno.test("createCoinbaseFeed() delivers the frames that arrive while a stop closes the socket", async () => {
  const sockets: SocketHandlers[] = [];
  const abort = new AbortController();
  const r = recorder();
  const feed = createCoinbaseFeed({
    format: "advanced",
    url: "ws://fake",
    productId: "BTC-USD",
    clock: new ManualClock(),
    silenceMs: 10_000,
    maxAttempts: 2,
    transport: (_url, h) => {
      sockets.push(h);
      queueMicrotask(() => h.onOpen());
      return {
        send: () => {},
        // The server still had a trade on the wire when we asked to close.
        close: () =>
          setTimeout(() => {
            h.onMessage(ticker(1, T0 + 700, "2.00"));
            h.onClose(1000, "");
          }, 5),
      };
    },
  });
  const run = feed.run(r.sink, abort.signal);
  await until(() => sockets.length === 1);
  sockets[0]!.onMessage(ticker(0, T0 + 100, "1.00"));
  abort.abort();
  await run;
  assert.deepEqual(r.prices(), ["1.00", "2.00"]);
  assert.equal(feed.status.state, "stopped");
});

Deno.test("createCoinbaseFeed() throws after maxAttempts sessions without data", async () => {
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
      queueMicrotask(() => {
        h.onOpen();
        h.onClose(1006, "");
      });
      return { send: (t) => void sent.push(t), close: () => {} };
    },
  });
  const causes: string[] = [];
  await assert.rejects(
    feed.run({
      frame: () => {},
      status: (s) => void statuses.push(s.state),
      disconnected: (cause) => void causes.push(cause),
    }, new AbortController().signal),
    /2 reconnect attempts failed/,
  );
  assert.deepEqual(causes, ["close", "close", "close"]);
  assert.equal(sent.length, 6, "two subscribe messages per session");
  assert.equal(statuses[statuses.length - 1], "failed");
  assert.equal(feed.status.state, "failed");
});
