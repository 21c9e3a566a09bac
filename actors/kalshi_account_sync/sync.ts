/**
 * One sync of `kalshi_account_sync` over REST (see `mod.ts`): the balance, the positions as one
 * snapshot, orders, fills and settlements since their cursor time; bad items rejected and
 * counted, rows PostgreSQL refused counted and logged; then the trades of the markets whose fills
 * or settlements came back (all of them after a full reconcile; `trades.ts`).
 *
 * @module
 */
import type { z } from "zod";
import type { ActorContext } from "../_runtime.ts";
import type { RateLimitedLog } from "../../lib/log.ts";
import type { AccountStore } from "../../lib/kalshi/account_store.ts";
import type { KalshiClient } from "../../lib/kalshi/client.ts";
import {
  Balance,
  Fill,
  type KalshiFill,
  type KalshiOrder,
  type KalshiSettlement,
  MarketPosition,
  Order,
  Settlement,
} from "../../lib/kalshi/schemas.ts";
import type { AccountSyncSettings } from "./settings.ts";
import type { TradeKeeper } from "./trades.ts";

/** What one sync wrote. */
export interface SyncResult {
  full: boolean;
  positions: number | null;
  orders: number;
  fills: number;
  settlements: number;
  rejected: number;
  /** Trades written (with a trade keeper). */
  trades?: number;
}

/** What one sync needs. */
export interface SyncDeps {
  settings: AccountSyncSettings;
  client: KalshiClient;
  store: AccountStore;
  warn: RateLimitedLog;
  /** Whether the socket is up (shown in the details). */
  socketUp: () => boolean;
  /** Builds the trades after each sync; none: no trades. */
  trades?: TradeKeeper;
}

function laterIso(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/** One account's syncs; `sync(full)` is one, a full reconcile when `full`. */
class AccountSyncPass {
  #ctx: ActorContext;
  #settings: AccountSyncSettings;
  #client: KalshiClient;
  #store: AccountStore;
  #warn: RateLimitedLog;
  #socketUp: () => boolean;
  #trades: TradeKeeper | undefined;
  #lastBalance: { value: string; at: number } | undefined;

  constructor(ctx: ActorContext, deps: SyncDeps) {
    this.#ctx = ctx;
    this.#settings = deps.settings;
    this.#client = deps.client;
    this.#store = deps.store;
    this.#warn = deps.warn;
    this.#socketUp = deps.socketUp;
    this.#trades = deps.trades;
  }

  #parseAll<S extends z.ZodType>(
    items: unknown[],
    schema: S,
    kind: string,
    result: SyncResult,
  ): z.output<S>[] {
    const out: z.output<S>[] = [];
    for (const item of items) {
      const r = schema.safeParse(item);
      if (r.success) out.push(r.data);
      else {
        result.rejected++;
        this.#ctx.count(`rejected.${kind}`);
        this.#warn.warn(`reject:${kind}`, "Rejected a Kalshi {kind}: {why}", {
          kind,
          why: r.error.issues[0]?.message ?? "invalid",
        });
      }
    }
    return out;
  }

  async #all(
    path: string,
    key: string,
    query: Record<string, string | number> = {},
  ) {
    const items: unknown[] = [];
    for await (
      const page of this.#client.pages(path, key, {
        query,
        limit: this.#settings.pageLimit,
        signal: this.#ctx.signal,
      })
    ) items.push(...page.items);
    return items;
  }

  async #since(
    stream: string,
    full: boolean,
  ): Promise<Record<string, number>> {
    if (full) return {};
    const c = await this.#store.getCursor(stream);
    if (!c?.lastTime) return {};
    return {
      min_ts: Math.floor((c.lastTime.getTime() - this.#settings.overlapMs) / 1000),
    };
  }

  async #advance(stream: string, newest: string | null): Promise<void> {
    if (newest === null) return;
    const c = await this.#store.getCursor(stream);
    if (c?.lastTime && c.lastTime.getTime() >= Date.parse(newest)) return;
    await this.#store.setCursor(stream, { cursor: null, lastTime: new Date(newest) });
  }

  /** Rows PostgreSQL refused during a sync, left out by the store: counted and logged. */
  #reportRefused(): void {
    const refused = this.#store.takeRefused();
    if (refused.count === 0) return;
    this.#ctx.count("rows.rejected", refused.count);
    for (const r of refused.rows) {
      this.#warn.warn(
        `refused:${r.table}`,
        "Kalshi {table} row {key} refused by PostgreSQL: {reason}",
        {
          table: r.table,
          key: r.key,
          reason: r.reason,
        },
      );
    }
  }

  async sync(full: boolean): Promise<SyncResult> {
    try {
      return await this.#syncOnce(full);
    } finally {
      this.#reportRefused();
    }
  }

  async #syncOnce(full: boolean): Promise<SyncResult> {
    const result: SyncResult = {
      full,
      positions: null,
      orders: 0,
      fills: 0,
      settlements: 0,
      rejected: 0,
    };
    const observedMs = this.#ctx.clock.now();
    const observed = new Date(observedMs);

    const balance = await this.#client.get("/portfolio/balance", Balance, {
      signal: this.#ctx.signal,
    });
    if (
      !this.#lastBalance || this.#lastBalance.value !== balance.balanceDollars ||
      observedMs - this.#lastBalance.at >= this.#settings.balanceEveryMs
    ) {
      await this.#store.insertBalance(balance, observed);
      this.#lastBalance = { value: balance.balanceDollars, at: observedMs };
    }

    // Positions: the whole list or nothing (a partial snapshot would delete real positions).
    const rawPositions = await this.#all("/portfolio/positions", "market_positions");
    const before = result.rejected;
    const positions = this.#parseAll(
      rawPositions,
      MarketPosition,
      "position",
      result,
    );
    if (result.rejected === before) {
      result.positions = await this.#store.replacePositions(positions, observed);
    } else {
      this.#ctx.count("rejected.positions_snapshot");
    }

    // Orders: resting ones always (their state changes), the rest since the cursor time.
    const orderQuery = await this.#since("orders", full);
    const rawOrders = full ? await this.#all("/portfolio/orders", "orders") : [
      ...await this.#all("/portfolio/orders", "orders", { status: "resting" }),
      ...await this.#all("/portfolio/orders", "orders", orderQuery),
    ];
    const orders: KalshiOrder[] = this.#parseAll(rawOrders, Order, "order", result);
    result.orders = await this.#store.upsertOrders(orders);
    await this.#advance(
      "orders",
      orders.reduce<string | null>(
        (m, o) => laterIso(m, o.lastUpdateTime ?? o.createdTime),
        null,
      ),
    );

    const fills: KalshiFill[] = this.#parseAll(
      await this.#all("/portfolio/fills", "fills", await this.#since("fills", full)),
      Fill,
      "fill",
      result,
    );
    result.fills = await this.#store.insertFills(fills);
    await this.#advance(
      "fills",
      fills.reduce<string | null>((m, f) => laterIso(m, f.createdTime), null),
    );

    const settlements: KalshiSettlement[] = this.#parseAll(
      await this.#all(
        "/portfolio/settlements",
        "settlements",
        await this.#since("settlements", full),
      ),
      Settlement,
      "settlement",
      result,
    );
    result.settlements = await this.#store.insertSettlements(settlements);
    await this.#advance(
      "settlements",
      settlements.reduce<string | null>(
        (m, s) => laterIso(m, s.settledTime),
        null,
      ),
    );

    if (this.#trades) {
      const markets = new Set([...fills, ...settlements].map((r) => r.ticker));
      result.trades = (await this.#trades.afterSync(full ? "all" : [...markets])).written;
    }

    this.#ctx.count("rows.orders", result.orders);
    this.#ctx.count("rows.fills", result.fills);
    this.#ctx.count("rows.settlements", result.settlements);
    this.#ctx.count(full ? "syncs.full" : "syncs.incremental");
    this.#ctx.handled();
    this.#ctx.dataAt(observedMs);
    this.#ctx.setDetails({
      user: this.#settings.user,
      lastSyncAt: observed.toISOString(),
      lastSyncFull: full,
      socket: this.#socketUp() ? "up" : "down",
      positions: result.positions,
    });
    return result;
  }
}

/** Creates `sync(full)`: one sync, a full reconcile when `full`. */
export function createSync(
  ctx: ActorContext,
  deps: SyncDeps,
): (full: boolean) => Promise<SyncResult> {
  const pass = new AccountSyncPass(ctx, deps);
  return (full) => pass.sync(full);
}
