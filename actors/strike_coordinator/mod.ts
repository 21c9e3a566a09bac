/**
 * `strike_coordinator`: each cycle reads, from PostgreSQL only, the latest price and momentum of
 * its symbol and the current Kalshi event's markets, computes the probability of each strike
 * (closed form by default, or the empirical lookup), and replaces `live_data.strike_table` in one
 * transaction, which also keeps the table in `live_data.strike_table_history` with the ages of its
 * inputs and notifies `recio_strike_table_<sym>` (`lib/notify_channels.ts`), and the JSON files
 * atomically. A cycle runs when a price row or a market snapshot is committed (their
 * notifications, coalesced: one running, one queued) and otherwise every `cycleMs` × 5 at the
 * latest, as a safety net (`triggers.ts`).
 *
 * Never stale, never wrong silently: when the price or the market snapshot is older than its
 * bound, or there is no open event, nothing new is published; the table header, the files, the
 * heartbeat and `/status` (the actor is `degraded` with the reason) say it is stale, and the
 * coordinator resumes by itself when its inputs are fresh again. Time to close comes from the
 * event's own strike time (UTC), never from "the next top of the hour" on the local clock.
 *
 * A cold singleton in cluster mode: both writes (the table, the stale flag) prove
 * `ctx.lease.current` in the database (`lib/fence.ts`), and the files are written only after such a
 * write and while that grant is still held. While the lease is not held a cycle writes nothing; a
 * write refused for a stale grant commits nothing, is reported (`ctx.lease.fenced`, counted
 * `writes.fenced`, not a failed cycle) and is not retried under that grant.
 *
 * @example
 * ```ts ignore
 * const actor = createStrikeCoordinator(ctx, { store, settings, writeFile });
 * ```
 *
 * @module
 */
import type { Actor, ActorContext } from "../_runtime.ts";
import { isFenced, type LeaseGrant } from "../../lib/fence.ts";
import { perSqrtSecond, probAtOrAbove, realizedVolPerSqrtSecond } from "./closed_form.ts";
import { Lookup } from "./empirical.ts";
import { historyRows } from "./history.ts";
import { PriceWindow } from "./price_window.ts";
import { staleAge, type StaleWarning, warnStale } from "./staleness.ts";
import { type CoordinatorStore, DELTAS, type Header } from "./store.ts";
import { createCycleLoop, type Listen } from "./triggers.ts";
import {
  buildStrikeRows,
  nearestMarket,
  type StrikeRow,
  strikeTier,
  watchlist,
} from "./strike_table.ts";
import type { ActorArgs } from "../../schema/actor_args.ts";

/** Settings of one coordinator: its args (`schema/actor_args.ts`). */
export type CoordinatorSettings = ActorArgs<"strike_coordinator">;

export interface CoordinatorDeps {
  store: CoordinatorStore;
  settings: CoordinatorSettings;
  writeJson: (path: string, data: unknown) => Promise<void>;
  /** Closes the database pool on stop. */
  close?: () => Promise<void>;
  /** LISTEN for price and market notifications (`triggers.ts`); absent: the timer alone. */
  listen?: Listen;
}

/** The safety-net timer runs a cycle this many `cycleMs` after the last one, at the latest. */
export const SAFETY_CYCLES = 5;

/** The outcome of one cycle; `fenced`: nothing written, the lease is not held (cluster mode). */
export type CycleResult =
  | { published: true; strikes: number }
  | { published: false; stale: string }
  | { published: false; fenced: true };

const NOT_HELD: CycleResult = { published: false, fenced: true };

/** Builds the coordinator actor. */
export function createStrikeCoordinator(ctx: ActorContext, deps: CoordinatorDeps): Actor & {
  cycle(): Promise<CycleResult>;
} {
  const s = deps.settings;
  const sym = s.symbol.toUpperCase();
  const files = s.outputDir
    ? {
      table: `${s.outputDir}/${sym.toLowerCase()}_strike_table.json`,
      watch: `${s.outputDir}/${sym.toLowerCase()}_watchlist.json`,
    }
    : null;
  let lookup: Lookup | null = null;
  const prices = new PriceWindow((since, after) => deps.store.recentPrices(since, after));
  let staleReason: string | null = null;
  let warned: StaleWarning | null = null;
  let lastPublished: Record<string, unknown> | null = null;

  /** The table file before anything was published: every documented key, null if unknown. */
  const unpublished = (): Record<string, unknown> => ({
    symbol: sym,
    current_price: null,
    ttc: null,
    broker: "Kalshi",
    event_ticker: null,
    market_title: null,
    strike_tier: null,
    market_status: null,
    last_updated: null,
    momentum: { weighted_score: null, deltas: Object.fromEntries(DELTAS.map((d) => [d, null])) },
    model_mode: s.mode,
    stale: true,
    stale_reason: null,
    strikes: [],
  });
  /** The watchlist file: the table file's header, the filter settings and the kept strikes. */
  const watchFile = (table: Record<string, unknown>, strikes: StrikeRow[]) => ({
    ...table,
    settings: s.watchlist,
    strikes,
  });

  /**
   * Runs `write` under the current grant; false when nothing was written: the lease is not held,
   * or the database refused the grant (reported, so the coordinator steps down, unless the grant
   * changed meanwhile). `write` writes its files only while `held(grant)`.
   */
  async function underLease(
    write: (grant: LeaseGrant | undefined) => Promise<void>,
  ): Promise<boolean> {
    const grant = ctx.lease.current;
    if (grant === null) return false;
    try {
      await write(grant);
      return true;
    } catch (error) {
      if (!isFenced(error)) throw error;
      if (ctx.lease.current === grant) ctx.lease.fenced(error);
      else ctx.count("writes.fenced");
      return false;
    }
  }
  /** Whether the grant a write proved is still the current one. */
  const held = (grant: LeaseGrant | undefined) => ctx.lease.current === grant;

  /** `kind` names the cause; `reason` says it with the numbers, which change every cycle. */
  async function markStale(kind: string, reason: string): Promise<CycleResult> {
    ctx.count("cycles.stale");
    const w = warnStale(warned, kind, ctx.clock.monotonic());
    warned = w.last;
    if (w.warn) {
      ctx.count("stale.warnings");
      ctx.log.warn("Strike table {symbol} stale: {reason}", { symbol: sym, reason });
    }
    if (reason !== staleReason) {
      staleReason = reason;
      ctx.degraded(`strike table stale: ${reason}`);
    }
    const wrote = await underLease(async (grant) => {
      await deps.store.markStale(reason, grant, new Date(ctx.clock.now()));
      if (files && held(grant)) {
        const table = { ...(lastPublished ?? unpublished()), stale: true, stale_reason: reason };
        await deps.writeJson(files.table, table);
        await deps.writeJson(files.watch, watchFile(table, []));
      }
    });
    if (!wrote) return NOT_HELD;
    ctx.setDetails({ stale: true, staleReason: reason, mode: s.mode });
    return { published: false, stale: reason };
  }

  async function cycle(): Promise<CycleResult> {
    if (ctx.lease.current === null) {
      ctx.count("cycles.standby");
      return NOT_HELD;
    }
    const now = ctx.clock.now();
    // Independent reads go out together (pipelined); the checks below keep their order.
    const [price, event] = await Promise.all([
      deps.store.latestPrice(),
      deps.store.currentEvent(now),
    ]);
    if (!price) return markStale("no_price", "no price yet");
    const priceAge = now - price.t;
    if (priceAge > s.priceMaxAgeMs) {
      return markStale(
        "price_age",
        `price is ${staleAge(priceAge, s.priceMaxAgeMs)} s old (bound ${s.priceMaxAgeMs / 1000} s)`,
      );
    }
    if (!Number.isFinite(price.price) || price.price <= 0) {
      return markStale("invalid_price", "invalid price");
    }
    if (!event) return markStale("no_event", "no open event");
    if (event.status && !["open", "active", "initialized", "unopened"].includes(event.status)) {
      return markStale("event_status", `event ${event.eventTicker} is ${event.status}`);
    }
    const [m, recent] = await Promise.all([
      deps.store.markets(event.eventTicker),
      s.mode === "closed_form" ? prices.points(now - s.volWindowS * 1000) : null,
    ]);
    if (m.markets.length === 0 || m.observedAt === null) {
      return markStale("no_market", `no market snapshot for ${event.eventTicker}`);
    }
    const marketAge = now - m.observedAt;
    if (marketAge > s.marketMaxAgeMs) {
      return markStale(
        "market_age",
        `market snapshot is ${staleAge(marketAge, s.marketMaxAgeMs)} s old (bound ${
          s.marketMaxAgeMs / 1000
        } s)`,
      );
    }
    const ttcSeconds = Math.max(0, (event.strikeDate - now) / 1000);

    let prob: (floorStrike: number) => number;
    if (s.mode === "empirical") {
      if (!lookup) {
        lookup = new Lookup(await deps.store.lookupRows());
      }
      if (lookup.empty) {
        return markStale(
          "no_lookup",
          "empirical model has no lookup table (run deno task model:build)",
        );
      }
      const l = lookup;
      const bucket = l.bucketFor(price.momentum);
      prob = (k) => l.probAtOrAbove(price.price, k, ttcSeconds, bucket);
    } else {
      const floor = perSqrtSecond(s.volFloorAnnual);
      const sigma = Math.max(floor, realizedVolPerSqrtSecond(recent ?? []) ?? 0);
      const drift = s.momentumDrift * ((price.momentum ?? 0) / 100) / 60;
      prob = (k) => probAtOrAbove({ price: price.price, strike: k, ttcSeconds, sigma, drift });
    }
    const rows = buildStrikeRows(price.price, m.markets, prob, s.strikeCount);
    // The markets of one event can differ in status; the header's is the status of the market
    // nearest the price (the table's centre), not of whichever row a query returned first.
    const marketStatus = nearestMarket(price.price, m.markets)?.status ?? null;
    const header: Header = {
      symbol: sym,
      current_price: price.price,
      ttc_seconds: Math.round(ttcSeconds),
      broker: "Kalshi",
      event_ticker: event.eventTicker,
      market_title: event.title,
      strike_tier: strikeTier(m.markets),
      market_status: marketStatus,
      momentum: price.momentum,
      deltas: price.deltas,
      model_mode: s.mode,
      last_updated: new Date(now),
    };
    const json = {
      symbol: sym,
      current_price: price.price,
      ttc: header.ttc_seconds,
      broker: "Kalshi",
      event_ticker: event.eventTicker,
      market_title: event.title,
      strike_tier: header.strike_tier,
      market_status: marketStatus,
      last_updated: header.last_updated.toISOString(),
      momentum: { weighted_score: price.momentum, deltas: price.deltas },
      model_mode: s.mode,
      stale: false,
      stale_reason: null,
      strikes: rows,
    };
    const wrote = await underLease(async (grant) => {
      await deps.store.publish(header, historyRows(rows, m.markets, prob), {
        priceAgeMs: priceAge,
        marketAgeMs: marketAge,
      }, grant);
      lastPublished = json;
      if (files && held(grant)) {
        await deps.writeJson(files.table, json);
        await deps.writeJson(files.watch, watchFile(json, watchlist(rows, s.watchlist)));
      }
    });
    if (!wrote) return NOT_HELD;
    warned = null;
    if (staleReason !== null) {
      staleReason = null;
      ctx.recovered();
      ctx.log.info("Strike table {symbol} fresh again", { symbol: sym });
    }
    ctx.handled();
    ctx.dataAt(now);
    ctx.count("cycles.published");
    ctx.setDetails({ stale: false, mode: s.mode, strikes: rows.length, event: event.eventTicker });
    return { published: true, strikes: rows.length };
  }

  const loop = createCycleLoop({
    ctx,
    symbol: sym,
    safetyMs: s.cycleMs * SAFETY_CYCLES,
    cycle,
    listen: deps.listen,
  });

  return {
    cycle,
    async start() {
      if (files) await Deno.mkdir(s.outputDir!, { recursive: true });
      await loop.start();
    },
    async stop() {
      await loop.stop();
      await deps.close?.();
    },
    async command(name) {
      if (name === "cycle") return await cycle();
      if (name === "reload_model") {
        lookup = null;
        return "reloaded";
      }
      throw new Error(`unknown command "${name}"`);
    },
  };
}
