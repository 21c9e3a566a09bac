/**
 * Per-second aggregation by exchange time: one row per UTC second holding the last trade price
 * of that second. A second's row is emitted when a later second is seen (a trade or the exchange
 * clock of a heartbeat) or on flush; a second with no trade has no row. Frames of a second before
 * the current one are rejected as `stale_frame`: their second's row may already be written.
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
}

/** What {@linkcode SecondBucket.offer} did. */
export type OfferResult =
  | { accepted: true; emitted: SecondRow | null }
  | { accepted: false; reason: "stale_frame" };

/** The per-second aggregator of one symbol. */
export class SecondBucket {
  #held: (SecondRow & { timeMs: number }) | null = null;
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
        this.#held = {
          ...held,
          price: tick.price,
          receivedMs: tick.receivedMs,
          timeMs: tick.timeMs,
        };
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

  /** Emits the held row now (stop, idle), closing its second. */
  flush(): SecondRow | null {
    return this.#close();
  }

  #close(): SecondRow | null {
    const held = this.#held;
    if (!held) return null;
    this.#held = null;
    this.#closedThrough = held.secondMs;
    return { secondMs: held.secondMs, price: held.price, receivedMs: held.receivedMs };
  }
}

/** Start of the UTC second containing `ms`. */
export function floorSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}
