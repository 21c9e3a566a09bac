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
 * @module
 */
import type { Clock } from "../../lib/clock.ts";
import {
  type FeedFormat,
  type FrameItem,
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
  /**
   * Longest wait, once the new connection of a handover is subscribed, for the old one to prove
   * live (a data frame) before it is closed anyway (default 1.5 s: heartbeats come every second;
   * never more than half of `silenceMs`).
   */
  handoverMs?: number;
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

/** How long a closing socket may take to report its close event. */
const CLOSE_WAIT_MS = 1_000;

interface Queued {
  parsed: ParsedFrame;
  receivedMs: number;
  /** Sequence numbers skipped just before this frame. */
  gapBefore: number;
}

type EndCause = DisconnectCause | "stopped" | "replaced";

/** One connection. */
interface Session {
  role: "primary" | "successor";
  socket?: FeedSocket;
  lastSeq: number | null;
  acks: number;
  subscribed: boolean;
  hadData: boolean;
  /** Newest exchange time of its data frames, and the tick prices at exactly that time. */
  lastDataMs: number | null;
  lastTicks: string[];
  /** A successor's frames, waiting for the primary to close. */
  queue: Queued[];
  /** It delivered data after the successor subscribed: the stream was live at the handover. */
  liveAtHandover: boolean;
  /** Set once closing was asked for (or the socket closed). */
  ending: { cause: EndCause; detail: string } | null;
  /** The close event came (not the close wait). */
  closedCleanly: boolean;
  done: boolean;
  silence?: ReturnType<typeof setTimeout>;
  closeWait?: ReturnType<typeof setTimeout>;
}

/** Exchange time of the first data item (trade or exchange clock) of a frame, or null. */
function dataTime(items: readonly FrameItem[]): number | null {
  for (const it of items) if (it.kind === "tick" || it.kind === "clock") return it.timeMs;
  return null;
}

/** Builds a Coinbase feed. */
export function createCoinbaseFeed(o: CoinbaseFeedOptions): PriceFeed {
  const transport = o.transport ?? webSocketTransport;
  const backoff = o.backoff ?? DEFAULT_BACKOFF;
  const random = o.random ?? Math.random;
  const parse = o.format === "advanced" ? parseAdvancedFrame : parseExchangeFrame;
  const subscribes = subscribeMessages(o.format, o.productId);
  const handoverMs = Math.min(o.handoverMs ?? 1_500, Math.max(1, Math.floor(o.silenceMs / 2)));
  let status: FeedStatus = { state: "idle" };

  function run(sink: FeedSink, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let primary: Session | null = null;
      let successor: Session | null = null;
      let failures = 0;
      let stopping: Session[] | null = null;
      let finished = false;
      let retry: ReturnType<typeof setTimeout> | undefined;
      let handoverTimer: ReturnType<typeof setTimeout> | undefined;
      let handoverCause: DisconnectCause | null = null;
      /** Newest exchange time delivered to the sink. */
      let lastDataMs: number | null = null;
      /** A break waiting for the first data frame after it. */
      let pending: { cause: DisconnectCause; fromMs: number; lost: number | null } | null = null;

      const setStatus = (next: FeedStatus) => {
        status = next;
        sink.status(next);
      };

      function noteBreak(cause: DisconnectCause, lost: number | null): void {
        if (pending) {
          // One window from the first break's start to the next data; the first cause names it.
          pending.lost = pending.lost === null || lost === null ? null : pending.lost + lost;
          return;
        }
        // Nothing delivered yet: nothing to cover (the actor records start-up gaps itself).
        if (lastDataMs !== null) pending = { cause, fromMs: lastDataMs, lost };
      }

      /** Hands a frame to the sink, announcing a pending break before its first data. */
      function deliver(parsed: ParsedFrame, receivedMs: number, t: number | null): void {
        if (t !== null) {
          if (pending) {
            const b = pending;
            pending = null;
            sink.discontinuity?.({
              cause: b.cause,
              fromMs: b.fromMs,
              toMs: Math.max(t, b.fromMs),
              lostFrames: b.lost,
            });
          }
          for (const it of parsed.items) {
            if (
              (it.kind === "tick" || it.kind === "clock") &&
              (lastDataMs === null || it.timeMs > lastDataMs)
            ) lastDataMs = it.timeMs;
          }
        }
        sink.frame(parsed, receivedMs);
      }

      function arm(s: Session, cause: "silence" | "connect_timeout"): void {
        clearTimeout(s.silence);
        s.silence = setTimeout(() => onSilent(s, cause), o.silenceMs);
      }

      function open(role: Session["role"]): Session {
        const s: Session = {
          role,
          lastSeq: null,
          acks: 0,
          subscribed: false,
          hadData: false,
          lastDataMs: null,
          lastTicks: [],
          queue: [],
          liveAtHandover: false,
          ending: null,
          closedCleanly: false,
          done: false,
        };
        arm(s, "connect_timeout");
        // Set right after the transport returns; handlers only run later.
        s.socket = transport(o.url, {
          onOpen: () => {
            if (s.ending) return;
            for (const m of subscribes) s.socket?.send(m);
            if (s.role === "primary") setStatus({ state: "connected", since: o.clock.now() });
            arm(s, "silence");
          },
          onMessage: (text) => onMessage(s, text),
          onClose: (code, reason) => {
            s.closedCleanly = true;
            closed(s, "close", `code ${code}${reason ? ` ${reason}` : ""}`);
          },
          onError: (message) => end(s, "error", message),
        });
        return s;
      }

      function onMessage(s: Session, text: string): void {
        // Frames that arrive while a socket closes are still trades that arrived: used.
        if (s.done) return;
        if (!s.ending) arm(s, "silence");
        let parsed = parse(text, o.productId);
        let gap = 0;
        if (o.format === "advanced" && parsed.sequence !== null) {
          if (s.lastSeq !== null && parsed.sequence <= s.lastSeq) {
            parsed = {
              sequence: parsed.sequence,
              items: [{ kind: "duplicate", what: "sequence" }],
            };
          } else {
            if (s.lastSeq !== null && parsed.sequence > s.lastSeq + 1) {
              gap = parsed.sequence - s.lastSeq - 1;
            }
            s.lastSeq = parsed.sequence;
          }
        }
        const t = dataTime(parsed.items);
        if (t !== null) {
          s.hadData = true;
          for (const it of parsed.items) {
            if (it.kind !== "tick" && it.kind !== "clock") continue;
            if (s.lastDataMs === null || it.timeMs > s.lastDataMs) {
              s.lastDataMs = it.timeMs;
              s.lastTicks.length = 0;
            }
            if (it.kind === "tick" && it.timeMs === s.lastDataMs) s.lastTicks.push(it.price);
          }
        }
        const receivedMs = o.clock.now();
        if (s.role === "primary") {
          if (gap > 0) noteBreak("sequence_gap", gap);
          deliver(parsed, receivedMs, t);
          if (t !== null && !successor && handoverCause !== null && !s.ending) {
            // Live again before a successor could subscribe: keep it, stop retrying.
            clearTimeout(retry);
            handoverCause = null;
            setStatus({ state: "connected", since: o.clock.now() });
          }
          if (t !== null && successor?.subscribed && !s.ending) {
            // Live after the successor subscribed: together they miss nothing. Close it now;
            // what it still delivers until its close event is used.
            s.liveAtHandover = true;
            end(s, "replaced", "handed over to a new connection");
          }
        } else s.queue.push({ parsed, receivedMs, gapBefore: gap });
        if (s.ending) return;
        if (!s.subscribed && parsed.items.some((i) => i.kind === "ack")) {
          if (++s.acks >= subscribes.length) {
            s.subscribed = true;
            if (s.role === "successor") onSuccessorSubscribed();
          }
        }
        for (const it of parsed.items) {
          if (it.kind !== "server_error") continue;
          if (s.role === "primary") startHandover("server_error", it.message);
          else end(s, "server_error", it.message);
          break;
        }
      }

      function onSilent(s: Session, cause: "silence" | "connect_timeout"): void {
        if (s.ending || s.done) return;
        const detail = `no frame for ${o.silenceMs} ms`;
        // A primary that went quiet is replaced while it stays open (it may still deliver).
        if (s.role === "primary" && cause === "silence") startHandover(cause, detail);
        else end(s, cause, detail);
      }

      function startHandover(cause: DisconnectCause, detail: string): void {
        if (successor || stopping || finished || !primary) return;
        clearTimeout(primary.silence);
        handoverCause = cause;
        // No frame at all (not even a heartbeat) for silenceMs: a window without information,
        // whatever the sequence numbers say later.
        if (cause === "silence") noteBreak("silence", null);
        sink.disconnected(cause, detail);
        setStatus({ state: "handover", cause, since: o.clock.now(), successor: "connecting" });
        successor = open("successor");
      }

      function onSuccessorSubscribed(): void {
        clearTimeout(handoverTimer);
        if (status.state === "handover") setStatus({ ...status, successor: "subscribed" });
        // The successor now receives everything; the primary has `handoverMs` to prove live.
        handoverTimer = setTimeout(() => {
          if (primary && !primary.ending) end(primary, "replaced", "did not prove live");
        }, handoverMs);
      }

      /** Asks a session to close; `closed` follows on its close event or after CLOSE_WAIT_MS. */
      function end(s: Session, cause: EndCause, detail: string): void {
        if (s.ending || s.done) return;
        s.ending = { cause, detail };
        clearTimeout(s.silence);
        s.socket?.close(1000, cause);
        s.closeWait = setTimeout(() => closed(s, cause, detail), CLOSE_WAIT_MS);
      }

      function closed(s: Session, cause: EndCause, detail: string): void {
        if (s.done) return;
        s.done = true;
        clearTimeout(s.silence);
        clearTimeout(s.closeWait);
        s.ending ??= { cause, detail };
        if (finished) return;
        if (stopping) return finishStop(stopping);
        if (s === successor) successorEnded(s);
        else if (s === primary) primaryEnded(s);
      }

      function successorEnded(s: Session): void {
        successor = null;
        clearTimeout(handoverTimer);
        const why = s.ending!;
        const cause = why.cause === "replaced" || why.cause === "stopped" ? "close" : why.cause;
        failures = s.hadData ? 1 : failures + 1;
        sink.disconnected(cause, why.detail);
        if (giveUp(cause, why.detail)) return;
        // Try again while the primary is open (it may be quiet, not gone).
        retry = setTimeout(() => {
          if (primary && handoverCause && !stopping && !finished && !successor) {
            successor = open("successor");
          }
        }, backoffDelay(failures, backoff, random));
      }

      function primaryEnded(s: Session): void {
        primary = null;
        const next = successor;
        if (next) {
          // A handover: seamless only if the old stream was live after the new one subscribed
          // and delivered everything up to its close event.
          successor = null;
          clearTimeout(handoverTimer);
          const seamless = next.subscribed && s.liveAtHandover && s.closedCleanly;
          if (!seamless) noteBreak(handoverCause ?? "close", null);
          handoverCause = null;
          next.role = "primary";
          primary = next;
          setStatus({ state: "connected", since: o.clock.now() });
          replay(next, s);
          return;
        }
        const why = s.ending!;
        const cause = why.cause === "replaced" || why.cause === "stopped" ? "close" : why.cause;
        noteBreak(cause, null);
        failures = s.hadData ? 1 : failures + 1;
        sink.disconnected(cause, why.detail);
        if (giveUp(cause, why.detail)) return;
        // A lost connection that had data is replaced at once: trades go by meanwhile.
        const delayMs = s.hadData ? 0 : backoffDelay(failures, backoff, random);
        setStatus({ state: "backoff", attempt: failures, delayMs, cause });
        retry = setTimeout(connect, delayMs);
      }

      /** Delivers a successor's queued frames, marking the trades `old` already gave. */
      function replay(next: Session, old: Session | null): void {
        const oldLast = old?.lastDataMs ?? null;
        const seen = old ? old.lastTicks.slice() : [];
        for (const q of next.queue.splice(0)) {
          if (q.gapBefore > 0) noteBreak("sequence_gap", q.gapBefore);
          let items = q.parsed.items;
          if (oldLast !== null) {
            items = items.map((it): FrameItem => {
              if (it.kind !== "tick") return it;
              if (it.timeMs < oldLast) return { kind: "duplicate", what: "tick" };
              const i = it.timeMs === oldLast ? seen.indexOf(it.price) : -1;
              if (i < 0) return it;
              seen.splice(i, 1);
              return { kind: "duplicate", what: "tick" };
            });
          }
          deliver({ sequence: q.parsed.sequence, items }, q.receivedMs, dataTime(items));
        }
      }

      function giveUp(cause: DisconnectCause, detail: string): boolean {
        if (failures <= o.maxAttempts) return false;
        const error = `Cannot keep the Coinbase feed of ${o.productId}: ${o.maxAttempts} ` +
          `reconnect attempts failed (last: ${cause}, ${detail})`;
        finished = true;
        signal.removeEventListener("abort", onAbort);
        clearTimeout(handoverTimer);
        for (const x of [primary, successor]) if (x) end(x, "stopped", "giving up");
        setStatus({ state: "failed", error });
        reject(new Error(error));
        return true;
      }

      function connect(): void {
        if (stopping || finished) return;
        setStatus({ state: "connecting", attempt: failures + 1 });
        primary = open("primary");
      }

      /** Once every socket open at the stop has closed: replay a successor's frames, resolve. */
      function finishStop(sessions: Session[]): void {
        if (finished || !sessions.every((x) => x.done)) return;
        finished = true;
        signal.removeEventListener("abort", onAbort);
        const held = sessions.find((x) => x.role === "successor");
        if (held) replay(held, sessions.find((x) => x !== held) ?? null);
        setStatus({ state: "stopped" });
        resolve();
      }

      const onAbort = () => {
        if (stopping || finished) return;
        clearTimeout(retry);
        clearTimeout(handoverTimer);
        stopping = [primary, successor].filter((x): x is Session => x !== null && !x.done);
        for (const x of stopping) end(x, "stopped", "stop");
        finishStop(stopping);
      };
      signal.addEventListener("abort", onAbort);
      if (signal.aborted) onAbort();
      else connect();
    });
  }

  return {
    get status() {
      return status;
    },
    run,
  };
}
