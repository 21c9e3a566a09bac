/**
 * The Coinbase price feed behind one {@linkcode PriceFeed} interface: the Advanced Trade socket
 * (`ticker` + `heartbeats`, `sequence_num` gap detection) or the Exchange feed (`ticker` +
 * `heartbeat`). A bounded reconnect loop (nats.js `dialLoop` style) reconnects on close, error,
 * sequence gap, server error or silence, with exponential backoff and jitter, the first retry
 * within a second; after `maxAttempts` consecutive sessions without data it throws, and the
 * supervisor takes over. The socket sits behind an injected {@linkcode Transport}.
 *
 * @module
 */
import type { Clock } from "../../lib/clock.ts";
import {
  type FeedFormat,
  parseAdvancedFrame,
  type ParsedFrame,
  parseExchangeFrame,
  subscribeMessages,
} from "./coinbase_frames.ts";

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

/** Why a session ended. */
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
  | { state: "backoff"; attempt: number; delayMs: number; cause: DisconnectCause }
  | { state: "stopped" }
  | { state: "failed"; error: string };

/** Where a feed delivers what it reads. */
export interface FeedSink {
  /** A parsed frame and its local receive time (epoch ms). */
  frame(parsed: ParsedFrame, receivedMs: number): void;
  status(status: FeedStatus): void;
  /** A session ended (not called for a stop). */
  disconnected(cause: DisconnectCause, detail: string): void;
}

/** A source of price frames that reconnects by itself until stopped or out of attempts. */
export interface PriceFeed {
  readonly status: FeedStatus;
  /** Runs until `signal` aborts (resolves) or the attempts are spent (rejects). */
  run(sink: FeedSink, signal: AbortSignal): Promise<void>;
}

/** Reconnect backoff. */
export interface FeedBackoff {
  baseMs: number;
  maxMs: number;
  factor: number;
  /** Fraction of the delay taken off at random (0..1). */
  jitter: number;
}

/** Default backoff: 0.4-0.5 s, then doubling to 15 s. */
export const DEFAULT_BACKOFF: FeedBackoff = { baseMs: 500, maxMs: 15_000, factor: 2, jitter: 0.2 };

/** Delay before reconnect attempt `attempt` (1-based). */
export function backoffDelay(attempt: number, b: FeedBackoff, random: () => number): number {
  const raw = Math.min(b.maxMs, b.baseMs * b.factor ** Math.max(0, attempt - 1));
  return Math.round(raw * (1 - b.jitter * random()));
}

/** Options of {@linkcode createCoinbaseFeed}. */
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
}

/** The real transport: a WebSocket. */
export function webSocketTransport(url: string, h: SocketHandlers): FeedSocket {
  const ws = new WebSocket(url);
  const decoder = new TextDecoder();
  ws.binaryType = "arraybuffer";
  ws.onopen = () => h.onOpen();
  ws.onmessage = (e) =>
    h.onMessage(typeof e.data === "string" ? e.data : decoder.decode(e.data as ArrayBuffer));
  ws.onerror = (e) => h.onError(e instanceof ErrorEvent ? e.message : "websocket error");
  ws.onclose = (e) => h.onClose(e.code, e.reason);
  return {
    send: (text) => ws.send(text),
    close: (code, reason) => {
      try {
        ws.close(code, reason);
      } catch { /* already closing */ }
    },
  };
}

interface SessionEnd {
  cause: DisconnectCause | "stopped";
  detail: string;
  hadData: boolean;
}

/** Builds a Coinbase feed. */
export function createCoinbaseFeed(o: CoinbaseFeedOptions): PriceFeed {
  const transport = o.transport ?? webSocketTransport;
  const backoff = o.backoff ?? DEFAULT_BACKOFF;
  const random = o.random ?? Math.random;
  const parse = o.format === "advanced" ? parseAdvancedFrame : parseExchangeFrame;
  let status: FeedStatus = { state: "idle" };

  function session(sink: FeedSink, signal: AbortSignal): Promise<SessionEnd> {
    return new Promise((resolve) => {
      let ended: SessionEnd | undefined;
      let closed = false;
      let hadData = false;
      let lastSeq: number | null = null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let closeWait: ReturnType<typeof setTimeout> | undefined;
      const settle = () => {
        clearTimeout(closeWait);
        if (ended) resolve(ended);
      };
      const finish = (cause: SessionEnd["cause"], detail: string) => {
        if (ended) return;
        ended = { cause, detail, hadData };
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (closed) return settle();
        ref.socket?.close(1000, cause);
        // Wait (bounded) for the close event, so no socket outlives the session.
        closeWait = setTimeout(settle, 1000);
      };
      const arm = (ms: number, cause: DisconnectCause) => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(cause, `no frame for ${ms} ms`), ms);
      };
      const onAbort = () => finish("stopped", "stop");
      signal.addEventListener("abort", onAbort);
      arm(o.silenceMs, "connect_timeout");
      // Set right after the transport returns; handlers only run later.
      const ref: { socket?: FeedSocket } = {};
      ref.socket = transport(o.url, {
        onOpen: () => {
          if (ended) return;
          for (const m of subscribeMessages(o.format, o.productId)) ref.socket?.send(m);
          status = { state: "connected", since: o.clock.now() };
          sink.status(status);
          arm(o.silenceMs, "silence");
        },
        onMessage: (text) => {
          if (ended) return;
          arm(o.silenceMs, "silence");
          const parsed = parse(text, o.productId);
          if (o.format === "advanced" && parsed.sequence !== null) {
            if (lastSeq !== null && parsed.sequence > lastSeq + 1) {
              // The frames in between are lost: reconnect; the actor records the gap.
              finish("sequence_gap", `sequence ${lastSeq} then ${parsed.sequence}`);
              return;
            }
            if (lastSeq !== null && parsed.sequence <= lastSeq) {
              sink.frame({
                sequence: parsed.sequence,
                items: [{ kind: "ignored", what: "duplicate sequence" }],
              }, o.clock.now());
              return;
            }
            lastSeq = parsed.sequence;
          }
          if (parsed.items.some((i) => i.kind === "tick" || i.kind === "clock")) hadData = true;
          sink.frame(parsed, o.clock.now());
          const error = parsed.items.find((i) => i.kind === "server_error");
          if (error) finish("server_error", error.message);
        },
        onClose: (code, reason) => {
          closed = true;
          if (ended) return settle();
          finish("close", `code ${code}${reason ? ` ${reason}` : ""}`);
        },
        onError: (message) => finish("error", message),
      });
    });
  }

  async function run(sink: FeedSink, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      status = { state: "connecting", attempt: failures + 1 };
      sink.status(status);
      const end = await session(sink, signal);
      if (end.cause === "stopped" || signal.aborted) break;
      failures = end.hadData ? 1 : failures + 1;
      sink.disconnected(end.cause, end.detail);
      if (failures > o.maxAttempts) {
        const error = `Cannot keep the Coinbase feed of ${o.productId}: ${o.maxAttempts} ` +
          `reconnect attempts failed (last: ${end.cause}, ${end.detail})`;
        status = { state: "failed", error };
        sink.status(status);
        throw new Error(error);
      }
      const delayMs = backoffDelay(failures, backoff, random);
      status = { state: "backoff", attempt: failures, delayMs, cause: end.cause };
      sink.status(status);
      await sleep(delayMs, signal);
    }
    status = { state: "stopped" };
    sink.status(status);
  }

  return {
    get status() {
      return status;
    },
    run,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
