/**
 * How the market watchdog sees its events through to their results: every `RESULT_POLL_MS` it
 * reads, from PostgreSQL, the events it followed that still have a market without a recorded
 * result (so a restarted or newly elected watchdog carries on where the last one stopped) and
 * polls a few of them, least recently polled first, until Kalshi settles each market or
 * `RESULT_FOLLOW_MS` after its strike time has passed. The current and next events are polled
 * anyway and are not picked here.
 *
 * {@linkcode createResultRecorder} records the final results of one written snapshot: refused
 * results are counted as `results.rejected.<reason>` and logged (rate-limited), the rest upserted
 * once (`results.recorded` counts the rows inserted or changed; a repeated poll adds nothing).
 *
 * @example
 * ```ts
 * import { pickFollowed } from "./follow.ts";
 * const events = [{ eventTicker: "A", strikeDate: new Date(0) }, { eventTicker: "B", strikeDate: new Date(1) }];
 * pickFollowed(events, new Map([["A", 5]]), 1); // [B]: never polled comes first
 * ```
 *
 * @module
 */
import type { ActorContext } from "../_runtime.ts";
import type { LeaseGrant } from "../../lib/fence.ts";
import type { RateLimitedLog } from "../../lib/log.ts";
import { type CycleResult, emptyCycleResult } from "./cycle_result.ts";
import type { EventSnapshot } from "./snapshot.ts";
import type { MarketStore } from "./store.ts";

/** What the last poll of an event gave, as `/status` details show it. */
export type EventStatus = { at: string; markets: number } | { error: string };

/** Between two rounds of polls of the events awaiting their results. */
export const RESULT_POLL_MS = 10_000;
/** How long after its strike time an event is followed at most. */
export const RESULT_FOLLOW_MS = 3 * 86_400_000;
/** Events polled per round (a backlog drains over several rounds, within the read rate). */
export const RESULT_EVENTS_PER_ROUND = 4;

/**
 * The `n` events to poll this round: never polled first, then the least recently polled
 * (`lastPolled`: ticker → ms), ties by strike date, newest first (the likeliest to settle).
 */
export function pickFollowed<T extends { eventTicker: string; strikeDate: Date }>(
  events: readonly T[],
  lastPolled: ReadonlyMap<string, number>,
  n: number,
): T[] {
  const at = (e: T) => lastPolled.get(e.eventTicker) ?? -Infinity;
  return [...events]
    .sort((a, b) => at(a) - at(b) || b.strikeDate.getTime() - a.strikeDate.getTime())
    .slice(0, n);
}

/** What the follower needs: `poll` fetches and writes one event into `tally` and `status`. */
export interface FollowerDeps {
  ctx: Pick<ActorContext, "count">;
  store: Pick<MarketStore, "unsettledEvents">;
  series: readonly string[];
  poll(
    series: string,
    eventTicker: string,
    tally: CycleResult,
    status: Map<string, EventStatus>,
  ): Promise<void>;
}

/** The events followed for their results, polled in rounds (see the module doc). */
export function createFollower(d: FollowerDeps) {
  const polled = new Map<string, number>();
  const status = new Map<string, EventStatus>();
  let last = -Infinity;
  return {
    /** The last poll of each event still followed. */
    status,
    /**
     * One round at `now` (none when the last was less than `RESULT_POLL_MS` ago), outside
     * `wanted`, into a tally of its own: these events never make the watchdog unreachable, but
     * their results, history rows and 429s are added to `result`.
     */
    async round(now: number, wanted: readonly string[], result: CycleResult): Promise<void> {
      if (now - last < RESULT_POLL_MS) return;
      last = now;
      const since = new Date(now - RESULT_FOLLOW_MS);
      const events = await d.store.unsettledEvents(d.series, since, wanted);
      const open = new Set(events.map((e) => e.eventTicker));
      for (const map of [polled, status]) {
        for (const key of [...map.keys()]) if (!open.has(key)) map.delete(key);
      }
      const picked = pickFollowed(events, polled, RESULT_EVENTS_PER_ROUND);
      for (const e of picked) polled.set(e.eventTicker, now);
      const tally = emptyCycleResult();
      await Promise.all(picked.map((e) => d.poll(e.seriesTicker, e.eventTicker, tally, status)));
      result.followed += picked.length;
      result.results += tally.results;
      result.historyRows += tally.historyRows;
      result.rateLimited += tally.rateLimited;
      if (tally.retryAfterMs !== undefined) {
        result.retryAfterMs = Math.max(result.retryAfterMs ?? 0, tally.retryAfterMs);
      }
      if (picked.length > 0) d.ctx.count("events.followed", picked.length);
    },
  };
}

/** Records the final results of written snapshots (see the module doc). */
export function createResultRecorder(
  ctx: Pick<ActorContext, "count">,
  store: Pick<MarketStore, "writeResults">,
  warn: RateLimitedLog,
) {
  return {
    /** Records `snapshot`'s results under `grant`; a fenced write throws (nothing written). */
    async record(
      snapshot: EventSnapshot,
      observedAt: Date,
      grant: LeaseGrant | undefined,
    ): Promise<number> {
      for (const bad of snapshot.badResults) {
        ctx.count(`results.rejected.${bad.reason}`);
        warn.warn(`result:${bad.reason}`, "Rejected Kalshi result {market}: {why}", {
          market: bad.ticker,
          why: bad.detail,
        });
      }
      if (snapshot.results.length === 0) return 0;
      const w = await store.writeResults(snapshot.results, observedAt, grant);
      for (const r of w.refused) {
        ctx.count("rows.rejected");
        warn.warn("refused", "Kalshi {what} refused by PostgreSQL and left out: {reason}", {
          what: r.what,
          reason: r.reason,
        });
      }
      if (w.recorded > 0) ctx.count("results.recorded", w.recorded);
      return w.recorded;
    },
  };
}
