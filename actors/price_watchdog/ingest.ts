/**
 * The price watchdog's intake: every item of a parsed frame is checked (a trade from the future,
 * an absurd price, a second already closed are rejected and counted as `rejected.<reason>`,
 * logged with a rate limit, never written) and trades go into the current second's bucket.
 *
 * A second is closed, and its row emitted, as soon as it is known complete: by the first frame of
 * a later second (a trade or a heartbeat), or by the clock passing the second's end plus
 * {@linkcode CLOSE_GRACE_MS} with no such frame. The end is taken as the feed's clock stands
 * against ours: after a frame of exchange time `t` the held second closes `(end - t) + grace`
 * after that frame was handled, so a steady receive delay (or clock offset) never cuts a second
 * short; frames of it arriving later than the grace are rejected as `stale_frame`. 150 ms: the
 * ticker frames of a trade reach us within tens of milliseconds and in order, so a frame of the
 * old second that late is rare, while a quiet second costs at most that much over an ideal close
 * (a busy one is closed by the next second's first frame anyway). A feed more than
 * {@linkcode TIMED_CLOSE_MAX_LAG_MS} behind our clock is delivering a backlog (or a replay) whose
 * own next frames close its seconds: no timer (the idle flush of `mod.ts` still applies). Seconds
 * closed by the clock are counted as `rows.closed_by_clock`.
 *
 * @module
 */
import type { ActorContext } from "../_runtime.ts";
import type { RateLimitedLog } from "../../lib/log.ts";
import type { FrameItem, RejectReason } from "./coinbase_frames.ts";
import { SecondBucket, type SecondRow } from "./second_bucket.ts";

/** Frames more than this far ahead of our clock are rejected. */
export const FUTURE_TOLERANCE_MS = 5_000;
/** A price beyond this factor of the last accepted one is absurd. */
export const ABSURD_FACTOR = 10;
/** A second with no frame of a later one closes this long after its end (feed time). */
export const CLOSE_GRACE_MS = 150;
/** No timed close while the feed runs further behind our clock than this. */
export const TIMED_CLOSE_MAX_LAG_MS = 1_000;

/** What {@linkcode TickIntake} needs. */
export interface TickIntakeDeps {
  productId: string;
  warn: RateLimitedLog;
  /** A new exchange time (a trade or a heartbeat) was accepted. */
  exchangeTime(timeMs: number): void;
  /** A second was closed (null: none). */
  emit(row: SecondRow | null): void;
}

/** Checks frame items and keeps the open second. */
export class TickIntake {
  #ctx: ActorContext;
  #d: TickIntakeDeps;
  #bucket = new SecondBucket();
  #lastPrice: number | null = null;
  /** Cancels the timed close of the held second, if one is armed. */
  #cancelClose: (() => void) | undefined;
  #stopped = false;

  constructor(ctx: ActorContext, deps: TickIntakeDeps) {
    this.#ctx = ctx;
    this.#d = deps;
  }

  /** The bucket of the open second (replaced by {@linkcode seed}). */
  get bucket(): SecondBucket {
    return this.#bucket;
  }

  /** The last accepted trade price. */
  get lastPrice(): number | null {
    return this.#lastPrice;
  }

  /** Continues after the stored history: seconds up to `newestMs` are closed. */
  seed(newestMs: number | null, lastPrice: number | null): void {
    this.#disarm();
    this.#lastPrice = lastPrice;
    this.#bucket = new SecondBucket(newestMs);
  }

  /** No more timed closes (the stop flushes the open second itself). */
  stop(): void {
    this.#stopped = true;
    this.#disarm();
  }

  /** Counts, rejects or takes one item of a frame received at `receivedMs`. */
  item(it: FrameItem, receivedMs: number): void {
    const ctx = this.#ctx;
    switch (it.kind) {
      case "tick":
        return this.#tick(it, receivedMs);
      case "clock": {
        if (it.timeMs > ctx.clock.now() + FUTURE_TOLERANCE_MS) {
          return this.#reject("future_timestamp", `heartbeat ${new Date(it.timeMs).toISOString()}`);
        }
        this.#d.exchangeTime(it.timeMs);
        this.#d.emit(this.#bucket.advance(it.timeMs));
        this.#arm(it.timeMs);
        return;
      }
      case "ack":
        ctx.count("subscriptions");
        return;
      case "server_error":
        ctx.count("server_errors");
        this.#d.warn.warn("server_error", "Coinbase sent an error for {product}: {message}", {
          product: this.#d.productId,
          message: it.message,
        });
        return;
      case "ignored":
        ctx.count("ignored");
        return;
      case "duplicate":
        ctx.count(`duplicates.${it.what}`);
        return;
      case "rejected":
        return this.#reject(it.reason, it.detail);
    }
  }

  #tick(it: Extract<FrameItem, { kind: "tick" }>, receivedMs: number): void {
    if (it.timeMs > this.#ctx.clock.now() + FUTURE_TOLERANCE_MS) {
      return this.#reject("future_timestamp", `time ${new Date(it.timeMs).toISOString()}`);
    }
    const price = Number(it.price);
    const last = this.#lastPrice;
    if (last !== null && (price > last * ABSURD_FACTOR || price * ABSURD_FACTOR < last)) {
      return this.#reject("bad_price", `price ${it.price} against last ${last}`);
    }
    const r = this.#bucket.offer({ timeMs: it.timeMs, price: it.price, receivedMs });
    if (!r.accepted) return this.#reject(r.reason, `time ${new Date(it.timeMs).toISOString()}`);
    this.#lastPrice = price;
    this.#d.exchangeTime(it.timeMs);
    this.#ctx.count("ticks");
    this.#d.emit(r.emitted);
    this.#arm(it.timeMs);
  }

  /** After a frame of exchange time `timeMs`: (re)arms the timed close of the held second. */
  #arm(timeMs: number): void {
    this.#disarm();
    const held = this.#bucket.openSecondMs;
    if (held === null || this.#stopped) return;
    if (this.#ctx.clock.now() - timeMs > TIMED_CLOSE_MAX_LAG_MS) return;
    const bucket = this.#bucket;
    this.#cancelClose = this.#ctx.clock.setTimer(() => {
      this.#cancelClose = undefined;
      const row = bucket.advance(held + 1000);
      if (!row) return;
      this.#ctx.count("rows.closed_by_clock");
      this.#d.emit(row);
    }, held + 1000 + CLOSE_GRACE_MS - timeMs);
  }

  #disarm(): void {
    this.#cancelClose?.();
    this.#cancelClose = undefined;
  }

  #reject(reason: RejectReason, detail: string): void {
    this.#ctx.count(`rejected.${reason}`);
    this.#d.warn.warn(reason, "Rejected a {product} frame ({reason}): {detail}", {
      product: this.#d.productId,
      reason,
      detail,
    });
  }
}
