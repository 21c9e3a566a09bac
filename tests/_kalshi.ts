/**
 * Test helpers of the Kalshi actors: an {@linkcode ActorContext} that records counters, health
 * reports and details in memory (the actors are pure factories, so they run without a worker),
 * and (re-exported from `fakes/kalshi_records.ts`) fixture rows in Kalshi's current wire format.
 *
 * @module
 */
import { type Clock, systemClock } from "../lib/clock.ts";
import { getLogger } from "../lib/log.ts";
import { type ActorContext, NOT_LEASED } from "../actors/_runtime.ts";

/** A recording context. */
export interface TestContext {
  ctx: ActorContext;
  counters: Record<string, number>;
  /** `degraded:<reason>` and `running` in the order reported. */
  health: string[];
  details: () => Record<string, unknown> | undefined;
  newestDataAt: () => number | null;
  handled: () => number;
  finished: () => boolean;
  /** Aborts `ctx.signal` (what a `stop` does). */
  abort(): void;
}

/** Creates a recording context for an actor with `args`. */
export function testContext(
  options: { id?: string; args?: Record<string, unknown>; clock?: Clock } = {},
): TestContext {
  const counters: Record<string, number> = {};
  const health: string[] = [];
  const abort = new AbortController();
  let details: Record<string, unknown> | undefined;
  let newest: number | null = null;
  let handled = 0;
  let finished = false;
  const id = options.id ?? "kalshi_test";
  const ctx: ActorContext = {
    id,
    incarnation: 1,
    node: "test",
    args: options.args ?? {},
    databaseUrl: undefined,
    log: getLogger("actor", id),
    clock: options.clock ?? systemClock,
    signal: abort.signal,
    handled: (n = 1) => void (handled += n),
    dataAt: (ms) => void (newest = newest === null ? ms : Math.max(newest, ms)),
    count: (name, n = 1) => void (counters[name] = (counters[name] ?? 0) + n),
    gauge: (name, v) => void (counters[name] = v),
    setDetails: (d) => void (details = d),
    degraded: (reason) => void health.push(`degraded:${reason}`),
    recovered: () => void health.push("running"),
    finish: () => void (finished = true),
    lease: NOT_LEASED,
  };
  return {
    ctx,
    counters,
    health,
    details: () => details,
    newestDataAt: () => newest,
    handled: () => handled,
    finished: () => finished,
    abort: () => abort.abort(new Error("stopped by test")),
  };
}

// Fixture rows in Kalshi's wire format live with the fake, which the demo serves them from too.
export { fillJson, orderJson, positionJson, settlementJson } from "./fakes/kalshi_records.ts";

/** `text` as UTF-8 bytes with each `marker` replaced by the byte 0xFF (never valid UTF-8). */
export function bytesWithFF(text: string, marker: string): Uint8Array<ArrayBuffer> {
  const parts = text.split(marker).map((p) => new TextEncoder().encode(p));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0) + parts.length - 1);
  let at = 0;
  for (const [i, p] of parts.entries()) {
    if (i > 0) out[at++] = 0xff;
    out.set(p, at);
    at += p.length;
  }
  return out;
}
