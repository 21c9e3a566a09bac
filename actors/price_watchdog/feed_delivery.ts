/**
 * What the price feed (coinbase_feed.ts) hands its sink: frames in order, each break announced
 * as one {@linkcode Discontinuity} just before the first data after it, and a successor's queued
 * frames replayed after a handover with the trades the old connection already gave marked as
 * duplicates.
 *
 * @module
 */
import type { FrameItem, ParsedFrame } from "./coinbase_frames.ts";
import type { DisconnectCause, Discontinuity, FeedSink } from "./feed_types.ts";
import { dataTime, type Session } from "./feed_session.ts";

/** Delivers frames to one sink for one run of the feed. */
export class FeedDelivery {
  #sink: FeedSink;
  /** Newest exchange time delivered to the sink. */
  #lastDataMs: number | null = null;
  /** A break waiting for the first data frame after it. */
  #pending: { cause: DisconnectCause; fromMs: number; lost: number | null } | null = null;

  constructor(sink: FeedSink) {
    this.#sink = sink;
  }

  /** Notes a break (`lost` frames known lost, or null when unknown). */
  noteBreak(cause: DisconnectCause, lost: number | null): void {
    const pending = this.#pending;
    if (pending) {
      // One window from the first break's start to the next data; the first cause names it.
      pending.lost = pending.lost === null || lost === null ? null : pending.lost + lost;
      return;
    }
    // Nothing delivered yet: nothing to cover (the actor records start-up gaps itself).
    if (this.#lastDataMs !== null) this.#pending = { cause, fromMs: this.#lastDataMs, lost };
  }

  /** Hands a frame to the sink, announcing a pending break before its first data (`t`). */
  deliver(parsed: ParsedFrame, receivedMs: number, t: number | null): void {
    if (t !== null) {
      const b = this.#pending;
      if (b) {
        this.#pending = null;
        const d: Discontinuity = {
          cause: b.cause,
          fromMs: b.fromMs,
          toMs: Math.max(t, b.fromMs),
          lostFrames: b.lost,
        };
        this.#sink.discontinuity?.(d);
      }
      for (const it of parsed.items) {
        if (
          (it.kind === "tick" || it.kind === "clock") &&
          (this.#lastDataMs === null || it.timeMs > this.#lastDataMs)
        ) this.#lastDataMs = it.timeMs;
      }
    }
    this.#sink.frame(parsed, receivedMs);
  }

  /** Delivers a successor's queued frames, marking the trades `old` already gave. */
  replay(next: Session, old: Session | null): void {
    const oldLast = old?.lastDataMs ?? null;
    const seen = old ? old.lastTicks.slice() : [];
    for (const q of next.queue.splice(0)) {
      if (q.gapBefore > 0) this.noteBreak("sequence_gap", q.gapBefore);
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
      this.deliver({ sequence: q.parsed.sequence, items }, q.receivedMs, dataTime(items));
    }
  }
}
