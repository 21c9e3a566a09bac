/**
 * Per-second aggregation by exchange time: one row per UTC second holding the last trade price
 * of that second. A second's row is emitted when a later second is seen (a trade or the exchange
 * clock of a heartbeat) or on flush; a second with no trade has no row. Frames of a second before
 * the current one are rejected as `stale_frame`: their second's row may already be written.
 *
 * A row is `incomplete` when the second's last trade may be missing: a feed break (lost frames,
 * a lost connection) covered part of it and no trade at or after the break's end arrived in it
 * ({@linkcode SecondBucket.markBreak}), or it was emitted before its second was seen to end
 * (a stop, or a feed gone quiet: `flush(true)`).
 *
 * @module
 */

/** A tick offered to the bucket. */
export interface BucketTick {
  /** Exchange time, epoch ms. */
  timeMs: number;
  /** Price as the venue sent it (a decimal string, kept exact). */
  price: string;
  /** Receive time, epoch ms. */
  receivedMs: number;
}

/** A finished second. */
export interface SecondRow {
  /** Start of the second (exchange time, epoch ms). */
  secondMs: number;
  /** The last trade price of the second (decimal string). */
  price: string;
  /** Receive time of the frame that set the price. */
  receivedMs: number;
  /** Present (true) when the second's last trade may be missing; absent when complete. */
  incomplete?: true;
}

/** What {@linkcode SecondBucket.offer} did. */
export type OfferResult =
  | { accepted: true; emitted: SecondRow | null }
  | { accepted: false; reason: "stale_frame" };

/** The per-second aggregator of one symbol. */
export class SecondBucket {
  #held: (SecondRow & { timeMs: number }) | null = null;
  /** The held second is incomplete unless a trade at or after this time arrives (0: none). */
  #riskUntil = 0;
  /** Seconds at or before this one are closed (written or skipped). */
  #closedThrough: number;

  /** `closedThroughMs`: start of the newest second already written (seeded from the table). */
  constructor(closedThroughMs: number | null = null) {
    this.#closedThrough = closedThroughMs === null ? -Infinity : floorSecond(closedThroughMs);
  }

  /** Start of the second being collected, or null. */
  get openSecondMs(): number | null {
    return this.#held?.secondMs ?? null;
  }

  /** Offers a trade; may emit the previous second's row. */
  offer(tick: BucketTick): OfferResult {
    const second = floorSecond(tick.timeMs);
    if (second <= this.#closedThrough) return { accepted: false, reason: "stale_frame" };
    const held = this.#held;
    if (held && second < held.secondMs) return { accepted: false, reason: "stale_frame" };
    if (held && second === held.secondMs) {
      // Last trade of the second wins; a frame of the same second carrying an earlier exchange
      // time than the held one is an older trade delivered late.
      if (tick.timeMs >= held.timeMs) {
        held.price = tick.price;
        held.receivedMs = tick.receivedMs;
        held.timeMs = tick.timeMs;
        // Every frame lost in a break is older than its end: a trade at or after it is the last.
        if (this.#riskUntil !== 0 && tick.timeMs >= this.#riskUntil) this.#riskUntil = 0;
      }
      return { accepted: true, emitted: null };
    }
    const emitted = this.#close();
    this.#held = {
      secondMs: second,
      price: tick.price,
      receivedMs: tick.receivedMs,
      timeMs: tick.timeMs,
    };
    return { accepted: true, emitted };
  }

  /**
   * The exchange clock reached `timeMs` (a heartbeat): emits the held row if its second is over.
   * Later frames of seconds before `timeMs`'s second are then stale.
   */
  advance(timeMs: number): SecondRow | null {
    const second = floorSecond(timeMs);
    if (this.#held && this.#held.secondMs < second) {
      return this.#close();
    }
    return null;
  }

  /**
   * Frames with exchange times in [fromMs, toMs] may be lost (a sequence gap, a lost connection):
   * the held second, if it overlaps, is incomplete unless a trade at or after `toMs` arrives in it.
   */
  markBreak(fromMs: number, toMs: number): void {
    const held = this.#held;
    // Nothing lost can be the held second's last trade if it ends before the break or if the
    // held trade is at least as late as every lost frame.
    if (!held || held.secondMs + 1000 <= fromMs || held.timeMs >= toMs) return;
    this.#riskUntil = Math.max(this.#riskUntil, toMs);
  }

  /**
   * Emits the held row now, closing its second. `cutShort`: the second was not seen to end (a
   * stop, a quiet feed), so a later trade of it may be missing: the row is incomplete.
   */
  flush(cutShort = false): SecondRow | null {
    return this.#close(cutShort);
  }

  #close(cutShort = false): SecondRow | null {
    const held = this.#held;
    if (!held) return null;
    this.#held = null;
    this.#closedThrough = held.secondMs;
    const incomplete = cutShort || this.#riskUntil !== 0;
    this.#riskUntil = 0;
    const row: SecondRow = {
      secondMs: held.secondMs,
      price: held.price,
      receivedMs: held.receivedMs,
    };
    if (incomplete) row.incomplete = true;
    return row;
  }
}

/** Start of the UTC second containing `ms`. */
export function floorSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}
