/**
 * The Coinbase price feed behind one {@linkcode PriceFeed} interface: the Advanced Trade socket
 * (`ticker` + `heartbeats`, `sequence_num` gap detection) or the Exchange feed (`ticker` +
 * `heartbeat`). The socket sits behind an injected {@linkcode Transport}.
 *
 * What the protocol allows (exchange-protocols.md §A1): `ticker` is a stream of last prices with
 * no replay; a new subscription only sends a snapshot of the current price. So:
 *
 * - A **sequence gap** (`sequence_num` jumps) means frames were lost, not that the following ones
 *   are wrong: the frame that reveals it is delivered like any other, the connection is kept (a
 *   reconnect would recover nothing and lose the trades sent meanwhile), and the sink hears a
 *   {@linkcode Discontinuity} (the exchange-time window the lost frames lie in) just before it.
 * - **Silence** or a **server error**: a new connection is opened while the old one stays open
 *   (a handover). The new one's frames wait in a queue; once it is subscribed, the old one is
 *   closed as soon as it proves live (a data frame after that point; at most `handoverMs`), every
 *   frame it delivers until its close event is used, then the queue is replayed with the trades
 *   the old connection already gave marked as duplicates. Only when the old connection did not
 *   prove live does the sink hear a discontinuity from its last data to the new one's first.
 * - A **close** or socket **error** leaves nothing to hand over from: a session that had data is
 *   replaced at once (then with backoff and jitter), and the window until the new connection's
 *   first data is a discontinuity. After `maxAttempts` consecutive sessions without data the feed
 *   throws, and the supervisor takes over (nats.js `dialLoop` style).
 * - A **stop** closes the sockets but still delivers every frame that arrives before their close
 *   events (Deno dispatches messages in the CLOSING state), so no trade that arrived is dropped.
 *
 * The parts: feed_types.ts (the transport seam, the status union, the sink, the options),
 * feed_transport.ts (the WebSocket), feed_session.ts (one connection and what reading a frame does
 * to it), feed_delivery.ts (frames and breaks as the sink hears them, the replay after a
 * handover), feed_run.ts (the connections of one run: handover, retries, stop, giving up).
 *
 * @module
 */
import { parseAdvancedFrame, parseExchangeFrame, subscribeMessages } from "./coinbase_frames.ts";
import { webSocketTransport } from "./feed_transport.ts";
import { runFeed } from "./feed_run.ts";
import {
  type CoinbaseFeedOptions,
  DEFAULT_BACKOFF,
  type FeedSink,
  type FeedStatus,
  type PriceFeed,
} from "./feed_types.ts";

export {
  type CoinbaseFeedOptions,
  DEFAULT_BACKOFF,
  type DisconnectCause,
  type Discontinuity,
  type FeedBackoff,
  type FeedSink,
  type FeedSocket,
  type FeedStatus,
  type PriceFeed,
  type SocketHandlers,
  type Transport,
} from "./feed_types.ts";
export { webSocketTransport } from "./feed_transport.ts";

/** Builds a Coinbase feed. */
export function createCoinbaseFeed(o: CoinbaseFeedOptions): PriceFeed {
  let status: FeedStatus = { state: "idle" };
  const config = {
    options: o,
    transport: o.transport ?? webSocketTransport,
    backoff: o.backoff ?? DEFAULT_BACKOFF,
    random: o.random ?? Math.random,
    parse: o.format === "advanced" ? parseAdvancedFrame : parseExchangeFrame,
    subscribes: subscribeMessages(o.format, o.productId),
    handoverMs: Math.min(o.handoverMs ?? 1_500, Math.max(1, Math.floor(o.silenceMs / 2))),
    status: () => status,
    setStatus: (next: FeedStatus) => void (status = next),
  };
  return {
    get status() {
      return status;
    },
    run: (sink: FeedSink, signal: AbortSignal) => runFeed(config, sink, signal),
  };
}
