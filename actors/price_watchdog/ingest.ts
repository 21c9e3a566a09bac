/**
 * The price watchdog's intake: every item of a parsed frame is checked (a trade from the future,
 * an absurd price, a second already closed are rejected and counted as `rejected.<reason>`,
 * logged with a rate limit, never written) and trades go into the current second's bucket.
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
    this.#lastPrice = lastPrice;
    this.#bucket = new SecondBucket(newestMs);
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
