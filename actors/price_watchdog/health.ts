/**
 * The price watchdog's health and status details: `degraded` while the feed is down (`feed
 * <cause>`, until the next exchange time) or the database is (`database unavailable, N rows
 * buffered`, until the buffer has drained, or the store is a standby that writes nothing),
 * `running` again once neither is. The details carry the store's role and lease epoch.
 *
 * @module
 */
import type { ActorContext } from "../_runtime.ts";
import type { PriceFeed } from "./feed_types.ts";
import type { PriceWatchdogSettings } from "./settings.ts";
import type { PriceStore } from "./store.ts";

/** What {@linkcode WatchdogHealth} reads. */
export interface WatchdogHealthDeps {
  settings: PriceWatchdogSettings;
  store: PriceStore;
  feed: PriceFeed;
}

/** Tracks why the watchdog is impaired and reports it to the supervisor. */
export class WatchdogHealth {
  #ctx: ActorContext;
  #d: WatchdogHealthDeps;
  /** Why the feed is down (cleared by the next exchange time), and whether the database is. */
  #feedDown: string | null = null;
  #dbDown = false;
  /** The degraded reason last reported, or null while running. */
  #reported: string | null = null;

  constructor(ctx: ActorContext, deps: WatchdogHealthDeps) {
    this.#ctx = ctx;
    this.#d = deps;
  }

  /** The feed lost its connection (the first cause names the outage). */
  feedLost(cause: string): void {
    this.#feedDown ??= cause;
    this.report();
  }

  /** A new exchange time came: the feed is up again. */
  feedBack(): void {
    if (!this.#feedDown) return;
    this.#feedDown = null;
    this.report();
  }

  /** Reports `degraded` with every current reason, or `running` once there is none. */
  report(): void {
    const store = this.#d.store;
    if (store.failing) this.#dbDown = true;
    // Down until drained (a standby keeps its rows: nothing to drain).
    else if (this.#dbDown && (store.pending === 0 || store.role.role === "standby")) {
      this.#dbDown = false;
    }
    const reasons: string[] = [];
    if (this.#feedDown) reasons.push(`feed ${this.#feedDown}`);
    if (this.#dbDown) reasons.push(`database unavailable, ${store.pending} rows buffered`);
    const reason = reasons.length > 0 ? reasons.join("; ") : null;
    if (reason === this.#reported) return;
    if (reason === null) this.#ctx.recovered();
    else this.#ctx.degraded(reason);
    this.#reported = reason;
  }

  /** Replaces the details shown in /status. */
  details(data: { lastPrice: number | null; newestRowMs: number | null }): void {
    const { settings: s, feed, store } = this.#d;
    this.#ctx.setDetails({
      symbol: s.symbol.toUpperCase(),
      productId: s.productId,
      feed: s.feed,
      connection: feed.status.state,
      ...(feed.status.state === "handover" ? { successor: feed.status.successor } : {}),
      lastPrice: data.lastPrice,
      newestRowAt: data.newestRowMs === null ? null : new Date(data.newestRowMs).toISOString(),
      buffered: store.pending,
      databaseAvailable: !this.#dbDown,
      ...store.role,
    });
  }
}
