/**
 * The types of the price feed (coinbase_feed.ts): the injected transport, the status union, the
 * sink that hears frames and breaks, and the feed's options.
 *
 * @module
 */
import type { Backoff } from "../../lib/backoff.ts";
import type { Clock } from "../../lib/clock.ts";
import type { FeedFormat, ParsedFrame } from "./coinbase_frames.ts";

/** Callbacks a transport calls. */
export interface SocketHandlers {
  onOpen(): void;
  onMessage(text: string): void;
  onClose(code: number, reason: string): void;
  onError(message: string): void;
}

/** An open (or opening) socket. */
export interface FeedSocket {
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

/** Opens a socket to `url`. */
export type Transport = (url: string, handlers: SocketHandlers) => FeedSocket;

/** Why a connection ended, was replaced, or lost frames. */
export type DisconnectCause =
  | "close"
  | "error"
  | "sequence_gap"
  | "silence"
  | "server_error"
  | "connect_timeout";

/** Connection status, a tagged union. */
export type FeedStatus =
  | { state: "idle" }
  | { state: "connecting"; attempt: number }
  | { state: "connected"; since: number }
  | {
    state: "handover";
    cause: DisconnectCause;
    since: number;
    successor: "connecting" | "subscribed";
  }
  | { state: "backoff"; attempt: number; delayMs: number; cause: DisconnectCause }
  | { state: "stopped" }
  | { state: "failed"; error: string };

/**
 * Frames with exchange times in [fromMs, toMs] may have been lost: `fromMs` is the newest
 * exchange time delivered before the break, `toMs` that of the first data after it (delivered
 * right after this call).
 */
export interface Discontinuity {
  cause: DisconnectCause;
  fromMs: number;
  toMs: number;
  /** Frames known lost (skipped sequence numbers), or null when unknown (a lost connection). */
  lostFrames: number | null;
}

/** Where a feed delivers what it reads. */
export interface FeedSink {
  /** A parsed frame and its local receive time (epoch ms). */
  frame(parsed: ParsedFrame, receivedMs: number): void;
  status(status: FeedStatus): void;
  /** A connection ended or is being replaced (not called for a stop). */
  disconnected(cause: DisconnectCause, detail: string): void;
  /** Frames may have been lost; called just before the first data frame after the break. */
  discontinuity?(d: Discontinuity): void;
}

/** A source of price frames that reconnects by itself until stopped or out of attempts. */
export interface PriceFeed {
  readonly status: FeedStatus;
  /** Runs until `signal` aborts (resolves) or the attempts are spent (rejects). */
  run(sink: FeedSink, signal: AbortSignal): Promise<void>;
}

/** Reconnect backoff (lib/backoff.ts, always with the `"down"` jitter rule). */
export interface FeedBackoff extends Backoff {
  factor: number;
  /** Fraction of the delay taken off at random (0..1). */
  jitter: number;
  mode?: "down";
}

/** Default backoff: 0.4-0.5 s, then doubling to 15 s. */
export const DEFAULT_BACKOFF: FeedBackoff = {
  baseMs: 500,
  maxMs: 15_000,
  factor: 2,
  jitter: 0.2,
  mode: "down",
};

/** Options of `createCoinbaseFeed`. */
export interface CoinbaseFeedOptions {
  format: FeedFormat;
  url: string;
  productId: string;
  clock: Clock;
  /** No frame for this long ends the session. */
  silenceMs: number;
  /** Consecutive sessions without data before the feed gives up. */
  maxAttempts: number;
  transport?: Transport;
  backoff?: FeedBackoff;
  random?: () => number;
  /**
   * Longest wait, once the new connection of a handover is subscribed, for the old one to prove
   * live (a data frame) before it is closed anyway (default 1.5 s: heartbeats come every second;
   * never more than half of `silenceMs`).
   */
  handoverMs?: number;
}
