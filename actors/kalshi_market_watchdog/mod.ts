/**
 * `kalshi_market_watchdog`: for each configured series (KXBTCD, KXETHD) finds the current and the
 * next hourly event (tickers from US Eastern time, cross-checked with the event's `strike_date`),
 * polls `GET /events/{ticker}?with_nested_markets=true` every `pollMs`, validates each snapshot
 * (see `snapshot.ts`) and only then writes it: `live_data.kalshi_events`, `kalshi_market_state`
 * (upserted) and `kalshi_market_history` (a row when a quote changes). Optionally archives
 * snapshots as gzip JSON for cold storage.
 *
 * Bad snapshots are rejected and counted (`rejected.<reason>`), logged with a rate limit, never
 * written. An event that is not listed yet (404, usually the next hour's) counts as
 * `events.missing`. The heartbeat carries the observed time of the newest written snapshot.
 *
 * @example
 * ```ts ignore
 * const actor = createMarketWatchdog(ctx, { settings: resolveArgs(ctx.args), client, store });
 * await actor.start();
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Actor, ActorContext } from "../_runtime.ts";
import { InputError } from "../../lib/errors.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import type { KalshiClient } from "../../lib/kalshi/client.ts";
import { KalshiRequestError } from "../../lib/kalshi/errors.ts";
import { sleep } from "../../lib/kalshi/rate_limiter.ts";
import { hourlyEvents } from "../../lib/kalshi/tickers.ts";
import { writeArchive } from "./archive.ts";
import { validateSnapshot } from "./snapshot.ts";
import type { MarketStore } from "./store.ts";

export type { MarketStore } from "./store.ts";

/** Arguments of the actor (the child spec's `args`). */
export const MarketWatchdogArgs = z.object({
  baseUrl: z.string().url(),
  series: z.array(z.string().regex(/^[A-Z0-9]+$/)).min(1).default(["KXBTCD", "KXETHD"]),
  pollMs: z.number().int().min(10).default(1_000),
  readPerSecond: z.number().positive().default(20),
  timeoutMs: z.number().int().positive().default(10_000),
  archiveDir: z.string().min(1).optional(),
  /** At most one archive file per event per this long. */
  archiveEveryMs: z.number().int().nonnegative().default(60_000),
}).strict();
export type MarketWatchdogSettings = z.output<typeof MarketWatchdogArgs>;

/** Validates the actor's args. */
export function resolveArgs(args: Record<string, unknown>): MarketWatchdogSettings {
  return MarketWatchdogArgs.parse(args);
}

/** `KXBTCD` → `btc`. */
export function seriesSymbol(series: string): string {
  return series.replace(/^KX/, "").replace(/D$/, "").toLowerCase();
}

/** What one cycle did. */
export interface CycleResult {
  written: number;
  rejected: number;
  missing: number;
  historyRows: number;
  /** Events whose fetch failed (network, 5xx after retries, authentication). */
  failed: number;
  ms: number;
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
export function createMarketWatchdog(ctx: ActorContext, deps: MarketWatchdogDeps): MarketWatchdog {
  const { settings, client, store } = deps;
  const warn = new RateLimitedLog(ctx.log, {
    perWindow: 5,
    windowMs: 60_000,
    now: () => ctx.clock.now(),
  });
  const lastArchive = new Map<string, number>();
  const status = new Map<string, { at: string; markets: number } | { error: string }>();
  let loop: Promise<void> | undefined;

  async function one(
    series: string,
    eventTicker: string,
    result: CycleResult & { lastError?: string },
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
      if (error instanceof KalshiRequestError && error.status === 404) {
        result.missing++;
        ctx.count("events.missing");
        status.set(eventTicker, { error: "not listed" });
        return;
      }
      if (error instanceof InputError) {
        result.rejected++;
        ctx.count(`rejected.${error.reason}`);
        warn.warn(`reject:${error.reason}`, "Rejected Kalshi snapshot {event}: {why}", {
          event: eventTicker,
          why: error.message,
        });
        return;
      }
      ctx.count("errors.fetch");
      result.failed++;
      const why = error instanceof Error ? error.message : String(error);
      result.lastError ??= why;
      status.set(eventTicker, { error: why });
      warn.warn("fetch", "Cannot fetch Kalshi event {event}: {why}", { event: eventTicker, why });
      return;
    }
    const v = validateSnapshot(body, eventTicker);
    if (!v.ok) {
      result.rejected++;
      ctx.count(`rejected.${v.reason}`);
      status.set(eventTicker, { error: `rejected: ${v.reason}` });
      warn.warn(`reject:${v.reason}`, "Rejected Kalshi snapshot {event} ({reason}): {detail}", {
        event: eventTicker,
        reason: v.reason,
        detail: v.detail,
      });
      return;
    }
    const observedAt = new Date(observedMs);
    const w = await store.writeSnapshot(v.snapshot, observedAt, seriesSymbol(series));
    result.written++;
    result.historyRows += w.historyRows;
    ctx.count("snapshots.written");
    ctx.count("rows.history", w.historyRows);
    ctx.dataAt(observedMs);
    status.set(eventTicker, { at: observedAt.toISOString(), markets: w.markets });
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

  let unreachable = false;

  async function cycle(): Promise<CycleResult> {
    const started = ctx.clock.monotonic();
    const result: CycleResult & { lastError?: string } = {
      written: 0,
      rejected: 0,
      missing: 0,
      historyRows: 0,
      failed: 0,
      ms: 0,
    };
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
    await Promise.all(wanted.map((w) => one(w.series, w.ticker, result)));
    result.ms = ctx.clock.monotonic() - started;
    ctx.gauge("cycle.ms", Math.round(result.ms));
    ctx.handled();
    ctx.setDetails({ events: Object.fromEntries(status) });
    // Kalshi unreachable (every fetch failed): say so at once instead of waiting for the
    // freshness restart; back to running with the first snapshot written.
    if (
      result.failed > 0 && result.written === 0 && result.failed + result.missing === wanted.length
    ) {
      if (!unreachable) ctx.degraded(`kalshi unreachable: ${result.lastError}`);
      unreachable = true;
    } else if (unreachable && result.written > 0) {
      unreachable = false;
      ctx.recovered();
    }
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
      const wait = settings.pollMs - (ctx.clock.monotonic() - started);
      await sleep(Math.max(0, wait), ctx.signal).catch(() => {});
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
