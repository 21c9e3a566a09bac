/**
 * One run of the price feed (coinbase_feed.ts describes the protocol and the rules): the
 * primary connection and, during a make-before-break handover, its successor; what ends each
 * (silence, a server error, a close, a stop), the retries with backoff, and giving up after
 * `maxAttempts` sessions without data.
 *
 * @module
 */
import { type Backoff, backoffDelay } from "../../lib/backoff.ts";
import type { ParsedFrame } from "./coinbase_frames.ts";
import { FeedDelivery } from "./feed_delivery.ts";
import { type EndCause, newSession, readFrame, type Session } from "./feed_session.ts";
import type {
  CoinbaseFeedOptions,
  DisconnectCause,
  FeedBackoff,
  FeedSink,
  FeedStatus,
  Transport,
} from "./feed_types.ts";

/** How long a closing socket may take to report its close event. */
const CLOSE_WAIT_MS = 1_000;

/** A feed's resolved settings and its status, shared by its runs. */
export interface FeedConfig {
  options: CoinbaseFeedOptions;
  transport: Transport;
  backoff: FeedBackoff;
  random: () => number;
  parse: (text: string, productId: string) => ParsedFrame;
  subscribes: readonly string[];
  handoverMs: number;
  /** The feed's current status. */
  status(): FeedStatus;
  /** Stores the feed's status (the run tells the sink too). */
  setStatus(status: FeedStatus): void;
}

/** Runs the feed until `signal` aborts (resolves) or the attempts are spent (rejects). */
export function runFeed(config: FeedConfig, sink: FeedSink, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    new FeedRun({ config, sink, signal, resolve, reject }).start();
  });
}

interface FeedRunDeps {
  config: FeedConfig;
  sink: FeedSink;
  signal: AbortSignal;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The connections of one run and the transitions between them. */
class FeedRun {
  #c: FeedConfig;
  #o: CoinbaseFeedOptions;
  #sink: FeedSink;
  #signal: AbortSignal;
  #resolve: () => void;
  #reject: (error: Error) => void;
  #out: FeedDelivery;
  #backoff: Backoff;
  #primary: Session | null = null;
  #successor: Session | null = null;
  #failures = 0;
  #stopping: Session[] | null = null;
  #finished = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #handoverTimer: ReturnType<typeof setTimeout> | undefined;
  #handoverCause: DisconnectCause | null = null;

  constructor(d: FeedRunDeps) {
    this.#c = d.config;
    this.#o = d.config.options;
    this.#sink = d.sink;
    this.#signal = d.signal;
    this.#resolve = d.resolve;
    this.#reject = d.reject;
    this.#out = new FeedDelivery(d.sink);
    this.#backoff = { ...d.config.backoff, mode: "down" };
  }

  start(): void {
    this.#signal.addEventListener("abort", this.#onAbort);
    if (this.#signal.aborted) this.#onAbort();
    else this.#connect();
  }

  #setStatus(next: FeedStatus): void {
    this.#c.setStatus(next);
    this.#sink.status(next);
  }

  #delay(attempt: number): number {
    return backoffDelay(attempt, this.#backoff, this.#c.random);
  }

  #arm(s: Session, cause: "silence" | "connect_timeout"): void {
    clearTimeout(s.silence);
    s.silence = setTimeout(() => this.#onSilent(s, cause), this.#o.silenceMs);
  }

  #open(role: Session["role"]): Session {
    const s = newSession(role);
    this.#arm(s, "connect_timeout");
    // Set right after the transport returns; handlers only run later.
    s.socket = this.#c.transport(this.#o.url, {
      onOpen: () => {
        if (s.ending) return;
        for (const m of this.#c.subscribes) s.socket?.send(m);
        if (s.role === "primary") {
          this.#setStatus({ state: "connected", since: this.#o.clock.now() });
        }
        this.#arm(s, "silence");
      },
      onMessage: (text) => this.#onMessage(s, text),
      onClose: (code, reason) => {
        s.closedCleanly = true;
        this.#closed(s, "close", `code ${code}${reason ? ` ${reason}` : ""}`);
      },
      onError: (message) => this.#end(s, "error", message),
    });
    return s;
  }

  #onMessage(s: Session, text: string): void {
    // Frames that arrive while a socket closes are still trades that arrived: used.
    if (s.done) return;
    if (!s.ending) this.#arm(s, "silence");
    const { parsed, gap, t } = readFrame(s, this.#o.format, this.#c.parse(text, this.#o.productId));
    const receivedMs = this.#o.clock.now();
    if (s.role === "primary") this.#primaryFrame(s, parsed, receivedMs, gap, t);
    else s.queue.push({ parsed, receivedMs, gapBefore: gap });
    if (s.ending) return;
    if (!s.subscribed && parsed.items.some((i) => i.kind === "ack")) {
      if (++s.acks >= this.#c.subscribes.length) {
        s.subscribed = true;
        if (s.role === "successor") this.#onSuccessorSubscribed();
      }
    }
    for (const it of parsed.items) {
      if (it.kind !== "server_error") continue;
      if (s.role === "primary") this.#startHandover("server_error", it.message);
      else this.#end(s, "server_error", it.message);
      break;
    }
  }

  /** A primary's frame is delivered at once; data from it may settle a handover. */
  #primaryFrame(
    s: Session,
    parsed: ParsedFrame,
    receivedMs: number,
    gap: number,
    t: number | null,
  ) {
    if (gap > 0) this.#out.noteBreak("sequence_gap", gap);
    this.#out.deliver(parsed, receivedMs, t);
    if (t !== null && !this.#successor && this.#handoverCause !== null && !s.ending) {
      // Live again before a successor could subscribe: keep it, stop retrying.
      clearTimeout(this.#retry);
      this.#handoverCause = null;
      this.#setStatus({ state: "connected", since: this.#o.clock.now() });
    }
    if (t !== null && this.#successor?.subscribed && !s.ending) {
      // Live after the successor subscribed: together they miss nothing. Close it now;
      // what it still delivers until its close event is used.
      s.liveAtHandover = true;
      this.#end(s, "replaced", "handed over to a new connection");
    }
  }

  #onSilent(s: Session, cause: "silence" | "connect_timeout"): void {
    if (s.ending || s.done) return;
    const detail = `no frame for ${this.#o.silenceMs} ms`;
    // A primary that went quiet is replaced while it stays open (it may still deliver).
    if (s.role === "primary" && cause === "silence") this.#startHandover(cause, detail);
    else this.#end(s, cause, detail);
  }

  #startHandover(cause: DisconnectCause, detail: string): void {
    if (this.#successor || this.#stopping || this.#finished || !this.#primary) return;
    clearTimeout(this.#primary.silence);
    this.#handoverCause = cause;
    // No frame at all (not even a heartbeat) for silenceMs: a window without information,
    // whatever the sequence numbers say later.
    if (cause === "silence") this.#out.noteBreak("silence", null);
    this.#sink.disconnected(cause, detail);
    this.#setStatus({
      state: "handover",
      cause,
      since: this.#o.clock.now(),
      successor: "connecting",
    });
    this.#successor = this.#open("successor");
  }

  #onSuccessorSubscribed(): void {
    clearTimeout(this.#handoverTimer);
    const status = this.#c.status();
    if (status.state === "handover") this.#setStatus({ ...status, successor: "subscribed" });
    // The successor now receives everything; the primary has `handoverMs` to prove live.
    this.#handoverTimer = setTimeout(() => {
      const primary = this.#primary;
      if (primary && !primary.ending) this.#end(primary, "replaced", "did not prove live");
    }, this.#c.handoverMs);
  }

  /** Asks a session to close; `#closed` follows on its close event or after CLOSE_WAIT_MS. */
  #end(s: Session, cause: EndCause, detail: string): void {
    if (s.ending || s.done) return;
    s.ending = { cause, detail };
    clearTimeout(s.silence);
    s.socket?.close(1000, cause);
    s.closeWait = setTimeout(() => this.#closed(s, cause, detail), CLOSE_WAIT_MS);
  }

  #closed(s: Session, cause: EndCause, detail: string): void {
    if (s.done) return;
    s.done = true;
    clearTimeout(s.silence);
    clearTimeout(s.closeWait);
    s.ending ??= { cause, detail };
    if (this.#finished) return;
    if (this.#stopping) return this.#finishStop(this.#stopping);
    if (s === this.#successor) this.#successorEnded(s);
    else if (s === this.#primary) this.#primaryEnded(s);
  }

  #successorEnded(s: Session): void {
    this.#successor = null;
    clearTimeout(this.#handoverTimer);
    const why = s.ending!;
    const cause = why.cause === "replaced" || why.cause === "stopped" ? "close" : why.cause;
    this.#failures = s.hadData ? 1 : this.#failures + 1;
    this.#sink.disconnected(cause, why.detail);
    if (this.#giveUp(cause, why.detail)) return;
    // Try again while the primary is open (it may be quiet, not gone).
    this.#retry = setTimeout(() => {
      if (
        this.#primary && this.#handoverCause && !this.#stopping && !this.#finished &&
        !this.#successor
      ) this.#successor = this.#open("successor");
    }, this.#delay(this.#failures));
  }

  #primaryEnded(s: Session): void {
    this.#primary = null;
    const next = this.#successor;
    if (next) return this.#handOver(s, next);
    const why = s.ending!;
    const cause = why.cause === "replaced" || why.cause === "stopped" ? "close" : why.cause;
    this.#out.noteBreak(cause, null);
    this.#failures = s.hadData ? 1 : this.#failures + 1;
    this.#sink.disconnected(cause, why.detail);
    if (this.#giveUp(cause, why.detail)) return;
    // A lost connection that had data is replaced at once: trades go by meanwhile.
    const delayMs = s.hadData ? 0 : this.#delay(this.#failures);
    this.#setStatus({ state: "backoff", attempt: this.#failures, delayMs, cause });
    this.#retry = setTimeout(() => this.#connect(), delayMs);
  }

  /**
   * The old primary has closed and its successor takes over: seamless only if the old stream
   * was live after the new one subscribed and delivered everything up to its close event.
   */
  #handOver(old: Session, next: Session): void {
    this.#successor = null;
    clearTimeout(this.#handoverTimer);
    const seamless = next.subscribed && old.liveAtHandover && old.closedCleanly;
    if (!seamless) this.#out.noteBreak(this.#handoverCause ?? "close", null);
    this.#handoverCause = null;
    next.role = "primary";
    this.#primary = next;
    this.#setStatus({ state: "connected", since: this.#o.clock.now() });
    this.#out.replay(next, old);
  }

  #giveUp(cause: DisconnectCause, detail: string): boolean {
    const o = this.#o;
    if (this.#failures <= o.maxAttempts) return false;
    const error = `Cannot keep the Coinbase feed of ${o.productId}: ${o.maxAttempts} ` +
      `reconnect attempts failed (last: ${cause}, ${detail})`;
    this.#finished = true;
    this.#signal.removeEventListener("abort", this.#onAbort);
    clearTimeout(this.#handoverTimer);
    for (const x of [this.#primary, this.#successor]) if (x) this.#end(x, "stopped", "giving up");
    this.#setStatus({ state: "failed", error });
    this.#reject(new Error(error));
    return true;
  }

  #connect(): void {
    if (this.#stopping || this.#finished) return;
    this.#setStatus({ state: "connecting", attempt: this.#failures + 1 });
    this.#primary = this.#open("primary");
  }

  /** Once every socket open at the stop has closed: replay a successor's frames, resolve. */
  #finishStop(sessions: Session[]): void {
    if (this.#finished || !sessions.every((x) => x.done)) return;
    this.#finished = true;
    this.#signal.removeEventListener("abort", this.#onAbort);
    const held = sessions.find((x) => x.role === "successor");
    if (held) this.#out.replay(held, sessions.find((x) => x !== held) ?? null);
    this.#setStatus({ state: "stopped" });
    this.#resolve();
  }

  #onAbort = (): void => {
    if (this.#stopping || this.#finished) return;
    clearTimeout(this.#retry);
    clearTimeout(this.#handoverTimer);
    const open = [this.#primary, this.#successor];
    this.#stopping = open.filter((x): x is Session => x !== null && !x.done);
    for (const x of this.#stopping) this.#end(x, "stopped", "stop");
    this.#finishStop(this.#stopping);
  };
}
