/**
 * `kalshi_market_watchdog`: for each configured series (KXBTCD, KXETHD) finds the current and the
 * next hourly event (tickers from US Eastern time, cross-checked with the event's `strike_date`),
 * polls `GET /events/{ticker}?with_nested_markets=true` every `pollMs`, validates each snapshot
 * (see `snapshot.ts`) and only then writes it: `live_data.kalshi_events`, `kalshi_market_state`
 * (upserted) and `kalshi_market_history` (a row when a quote changes). Optionally archives
 * snapshots as gzip JSON for cold storage. It sees its events through to their results: the
 * events it followed are polled on (`follow.ts`) until Kalshi settles each market, whose result
 * and settlement value go to `live_data.kalshi_market_results` once (`results.ts`); a refused
 * result is counted (`results.rejected.<reason>`), its snapshot still written and the market
 * followed on.
 *
 * Bad snapshots are rejected and counted (`rejected.<reason>`, including `nul_character`,
 * `invalid_unicode` and `text_too_long` for an identifier PostgreSQL could not store), logged
 * with a rate limit, never written; titles and the raw payload are cleaned instead. A market
 * PostgreSQL still refuses for its data is left out of its snapshot, the rest written, and
 * counted (`rows.rejected`, logged with its reason, rate-limited; see `store.ts`). An event that is not listed yet (404, usually the next hour's) counts as
 * `events.missing`. The heartbeat carries the observed time of the newest written snapshot.
 *
 * Kalshi answering 429 slows the poll loop down instead of retrying at once: the 429 is not
 * retried inside the request, the next poll waits `pollMs` doubled per rate-limited poll (capped
 * at `rateLimitBackoffMaxMs`) and at least the `Retry-After` Kalshi sent, and each clean poll
 * halves the wait again. The actor is then degraded "kalshi rate limited (HTTP 429)"; every fetch
 * failing otherwise is "kalshi unreachable: …". Each transition is reported and logged once
 * (`lib/kalshi/health.ts`).
 *
 * A cold singleton in cluster mode: each snapshot's transaction proves `ctx.lease.current`
 * (`lib/fence.ts`). Kalshi is not polled while the lease is not held; a write the database refuses
 * for a stale grant commits nothing, is reported (`ctx.lease.fenced`, counted `writes.fenced`, not
 * a write error) and is not retried under that grant; a new grant is written under at once.
 *
 * @example
 * ```ts ignore
 * const actor = createMarketWatchdog(ctx, { settings: resolveArgs(ctx.args), client, store });
 * await actor.start();
 * ```
 *
 * @module
 */
import type { Actor, ActorContext } from "../_runtime.ts";
import { InputError } from "../../lib/errors.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import { KalshiClient } from "../../lib/kalshi/client.ts";
import { KalshiRateLimitError, KalshiRequestError } from "../../lib/kalshi/errors.ts";
import { isFenced, type LeaseGrant } from "../../lib/fence.ts";
import { type Condition, HealthReporter } from "../../lib/kalshi/health.ts";
import { backoffDelay } from "../../lib/backoff.ts";
import { sleep } from "../../lib/sleep.ts";
import { hourlyEvents } from "../../lib/kalshi/tickers.ts";
import { writeArchive } from "./archive.ts";
import { createFollower, createResultRecorder, type EventStatus } from "./follow.ts";
import { validateSnapshot } from "./snapshot.ts";
import type { MarketStore } from "./store.ts";
import { type ActorArgs, parseActorArgs } from "../../schema/actor_args.ts";
import { type CycleResult, emptyCycleResult } from "./cycle_result.ts";

export type { MarketStore } from "./store.ts";

/** Settings of the actor: its args (`schema/actor_args.ts`), defaults filled in. */
export type MarketWatchdogSettings = ActorArgs<"kalshi_market_watchdog">;

/** Validates the actor's args. */
export function resolveArgs(args: Record<string, unknown>): MarketWatchdogSettings {
  return parseActorArgs("kalshi_market_watchdog", args);
}

/**
 * The REST client the watchdog runs with (its worker uses this too): one retry for 5xx and network
 * errors, none for 429 (the poll loop backs off instead, see {@linkcode nextPollDelay}).
 */
export function createMarketClient(
  settings: MarketWatchdogSettings,
  ctx: Pick<ActorContext, "clock" | "count">,
): KalshiClient {
  return new KalshiClient({
    baseUrl: settings.baseUrl,
    clock: ctx.clock,
    timeoutMs: settings.timeoutMs,
    readPerSecond: settings.readPerSecond,
    retry: { maxAttempts: 2, maxMs: Math.max(1_000, settings.pollMs) },
    retryRateLimited: false,
    onRetry: (i) => ctx.count(`retries.${i.status ?? "network"}`),
  });
}

/** The reason shown while Kalshi answers 429. */
export const RATE_LIMITED = "kalshi rate limited (HTTP 429)";

/**
 * The wait before the next poll and the new backoff level: a poll that met a 429 doubles the
 * wait (`pollMs·2^level`, capped at `rateLimitBackoffMaxMs`) and waits at least the longest
 * `Retry-After` it got (up to 15 min); a clean poll halves it again, one level at a time.
 * `fromEnd`: the wait counts from the end of the poll (a backoff), not from its start (the
 * schedule).
 */
export function nextPollDelay(
  level: number,
  poll: { rateLimited: number; retryAfterMs?: number | undefined },
  settings: Pick<MarketWatchdogSettings, "pollMs" | "rateLimitBackoffMaxMs">,
): { level: number; delayMs: number; fromEnd: boolean } {
  const cap = Math.max(settings.pollMs, settings.rateLimitBackoffMaxMs);
  const maxLevel = Math.ceil(Math.log2(cap / settings.pollMs));
  const next = poll.rateLimited > 0 ? Math.min(level + 1, maxLevel) : Math.max(level - 1, 0);
  const backoff = backoffDelay(next + 1, {
    baseMs: settings.pollMs,
    maxMs: cap,
    jitter: 0,
  });
  const asked = Math.min(poll.retryAfterMs ?? 0, 900_000);
  return {
    level: next,
    delayMs: Math.max(backoff, poll.rateLimited > 0 ? asked : 0),
    fromEnd: next > 0 || poll.rateLimited > 0,
  };
}

/**
 * The health one poll shows (`undefined`: it tells nothing new, e.g. only rejected snapshots):
 * rate limited when any fetch met a 429; unreachable when every event failed or is missing with
 * at least one failure; healthy when a snapshot was written.
 */
export function pollCondition(
  r: Pick<CycleResult, "written" | "failed" | "missing" | "rateLimited">,
  wanted: number,
  lastError?: string,
): Condition | null | undefined {
  if (r.rateLimited > 0) return { key: "rate_limited", reason: RATE_LIMITED };
  if (r.failed > 0 && r.written === 0 && r.failed + r.missing === wanted) {
    return {
      key: "unreachable",
      reason: `kalshi unreachable: ${lastError ?? "no answer"}`,
    };
  }
  return r.written > 0 ? null : undefined;
}

/** `KXBTCD` → `btc`. */
export function seriesSymbol(series: string): string {
  return series.replace(/^KX/, "").replace(/D$/, "").toLowerCase();
}

/** The watchdog, with a `cycle()` for tests and benchmarks. */
export interface MarketWatchdog extends Actor {
  cycle(): Promise<CycleResult>;
}

export interface MarketWatchdogDeps {
  settings: MarketWatchdogSettings;
  client: KalshiClient;
  store: MarketStore;
  /** Run cycles on a timer after start (false: only on `cycle()`). */
  autoPoll?: boolean;
}

/** Creates the watchdog. */
export function createMarketWatchdog(
  ctx: ActorContext,
  deps: MarketWatchdogDeps,
): MarketWatchdog {
  const { settings, client, store } = deps;
  const warn = new RateLimitedLog(ctx.log, {
    perWindow: 5,
    windowMs: 60_000,
    now: () => ctx.clock.now(),
  });
  const lastArchive = new Map<string, number>();
  const status = new Map<string, EventStatus>();
  const recorder = createResultRecorder(ctx, store, warn);
  let loop: Promise<void> | undefined;

  async function one(
    series: string,
    eventTicker: string,
    result: CycleResult & { lastError?: string },
    statuses: Map<string, EventStatus>,
  ): Promise<void> {
    const observedMs = ctx.clock.now();
    let body: unknown;
    try {
      body = await client.request("GET", `/events/${eventTicker}`, {
        query: { with_nested_markets: true },
        signal: ctx.signal,
      });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (error instanceof KalshiRateLimitError) {
        result.rateLimited++;
        ctx.count("errors.rate_limited");
        if (error.retryAfterMs !== undefined) {
          result.retryAfterMs = Math.max(result.retryAfterMs ?? 0, error.retryAfterMs);
        }
        statuses.set(eventTicker, { error: "rate limited (HTTP 429)" });
        return;
      }
      if (error instanceof KalshiRequestError && error.status === 404) {
        result.missing++;
        ctx.count("events.missing");
        statuses.set(eventTicker, { error: "not listed" });
        return;
      }
      if (error instanceof InputError) {
        result.rejected++;
        ctx.count(`rejected.${error.reason}`);
        warn.warn(
          `reject:${error.reason}`,
          "Rejected Kalshi snapshot {event}: {why}",
          {
            event: eventTicker,
            why: error.message,
          },
        );
        return;
      }
      ctx.count("errors.fetch");
      result.failed++;
      const why = error instanceof Error ? error.message : String(error);
      result.lastError ??= why;
      statuses.set(eventTicker, { error: why });
      warn.warn("fetch", "Cannot fetch Kalshi event {event}: {why}", { event: eventTicker, why });
      return;
    }
    const v = validateSnapshot(body, eventTicker);
    if (!v.ok) {
      result.rejected++;
      ctx.count(`rejected.${v.reason}`);
      statuses.set(eventTicker, { error: `rejected: ${v.reason}` });
      warn.warn(
        `reject:${v.reason}`,
        "Rejected Kalshi snapshot {event} ({reason}): {detail}",
        {
          event: eventTicker,
          reason: v.reason,
          detail: v.detail,
        },
      );
      return;
    }
    const observedAt = new Date(observedMs);
    const grant = ctx.lease.current;
    if (grant === null) return; // the lease was lost during the poll: write nothing
    let w: Awaited<ReturnType<MarketStore["writeSnapshot"]>>;
    try {
      w = await store.writeSnapshot(v.snapshot, observedAt, seriesSymbol(series), grant);
      result.results += await recorder.record(v.snapshot, observedAt, grant);
    } catch (error) {
      if (!isFenced(error)) throw error;
      refused(grant, error);
      statuses.set(eventTicker, { error: "not written: the lease is not held" });
      return;
    }
    for (const r of w.refused) {
      ctx.count("rows.rejected");
      warn.warn(
        "refused",
        "Kalshi {what} refused by PostgreSQL and left out of {event}: {reason}",
        {
          what: r.what,
          event: eventTicker,
          reason: r.reason,
        },
      );
    }
    result.written++;
    result.historyRows += w.historyRows;
    ctx.count("snapshots.written");
    ctx.count("rows.history", w.historyRows);
    ctx.dataAt(observedMs);
    statuses.set(eventTicker, { at: observedAt.toISOString(), markets: w.markets });
    if (settings.archiveDir) {
      const last = lastArchive.get(eventTicker);
      if (last === undefined || observedMs - last >= settings.archiveEveryMs) {
        lastArchive.set(eventTicker, observedMs);
        try {
          await writeArchive(settings.archiveDir, series, eventTicker, observedAt, body);
          ctx.count("archive.files");
        } catch (error) {
          ctx.count("errors.archive");
          warn.warn("archive", "Cannot archive Kalshi snapshot {event}: {why}", {
            event: eventTicker,
            why: error instanceof Error ? error.message : String(error),
          });
        }
      }
    }
  }

  /** A write refused under `grant`: steps down unless the grant already changed. */
  function refused(grant: LeaseGrant | undefined, error: unknown): void {
    if (ctx.lease.current === grant) ctx.lease.fenced(error);
    else ctx.count("writes.fenced");
  }

  const followed = createFollower({ ctx, store, series: settings.series, poll: one });

  const health = new HealthReporter(ctx);
  let backoffLevel = 0;
  let nextPollMs = settings.pollMs;
  let waitFromEnd = false;

  async function cycle(): Promise<CycleResult> {
    const started = ctx.clock.monotonic();
    const result: CycleResult & { lastError?: string } = emptyCycleResult();
    // Not the lease holder (stepped down, or lost): nothing to write, so nothing to poll.
    if (ctx.lease.current === null) return result;
    const now = ctx.clock.now();
    const wanted: { series: string; ticker: string }[] = [];
    for (const series of settings.series) {
      // On the fall-back day both hours can share one ticker: fetch it once.
      const tickers = new Set(hourlyEvents(series, now).map((e) => e.ticker));
      for (const ticker of tickers) wanted.push({ series, ticker });
    }
    for (const key of [...status.keys()]) {
      if (!wanted.some((w) => w.ticker === key)) status.delete(key);
    }
    await Promise.all(wanted.map((w) => one(w.series, w.ticker, result, status)));
    await followed.round(now, wanted.map((w) => w.ticker), result);
    result.ms = ctx.clock.monotonic() - started;
    ctx.gauge("cycle.ms", Math.round(result.ms));
    ctx.handled();
    // Unreachable or rate limited: say so at once instead of waiting for the freshness restart;
    // back to running with the first clean poll that writes a snapshot.
    health.observe(pollCondition(result, wanted.length, result.lastError));
    const next = nextPollDelay(backoffLevel, result, settings);
    backoffLevel = next.level;
    nextPollMs = next.delayMs;
    waitFromEnd = next.fromEnd;
    ctx.gauge("poll.next_ms", nextPollMs);
    ctx.setDetails({
      events: Object.fromEntries(status),
      ...(followed.status.size > 0 ? { settling: Object.fromEntries(followed.status) } : {}),
      ...(health.current ? { problem: health.current.reason } : {}),
      ...(backoffLevel > 0 || result.rateLimited > 0 ? { backoffMs: nextPollMs } : {}),
    });
    const { lastError: _, ...out } = result;
    return out;
  }

  async function run(): Promise<void> {
    while (!ctx.signal.aborted) {
      const started = ctx.clock.monotonic();
      try {
        await cycle();
      } catch (error) {
        if (ctx.signal.aborted) return;
        // A database error: count, log, and try again next cycle (the data is re-polled).
        ctx.count("errors.write");
        warn.warn("write", "Cannot write Kalshi snapshot: {why}", {
          why: error instanceof Error ? error.message : String(error),
        });
      }
      // On schedule normally; while backing off, the whole wait after the poll ends.
      const wait = waitFromEnd ? nextPollMs : nextPollMs - (ctx.clock.monotonic() - started);
      await sleep(Math.max(0, wait), { signal: ctx.signal, clock: ctx.clock })
        .catch(() => {});
    }
  }

  return {
    cycle,
    start() {
      if (deps.autoPoll ?? true) loop = run();
      return Promise.resolve();
    },
    async stop() {
      await loop;
    },
    async command(name) {
      if (name === "cycle") return await cycle();
      throw new Error(`unknown command "${name}"`);
    },
  };
}
