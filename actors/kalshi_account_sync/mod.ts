/**
 * `kalshi_account_sync`: one per user. Keeps `<user>.account_balance`, `positions`, `orders`,
 * `fills` and `settlements` in step with the Kalshi account:
 *
 * - a sync reads the balance, every page of positions (replaced as one snapshot in one
 *   transaction, and only when every position parsed), orders (resting ones always, the rest
 *   since the stored cursor time), fills and settlements since their cursor time (minus an
 *   overlap; writes are idempotent on natural keys). A full reconcile (no time filter) runs at
 *   start and every `reconcileMs`.
 * - the `market_positions` and `fill` WebSocket channels (signed handshake, opened after the
 *   first sync that works) wake a prompt sync;
 *   while the socket is up the timer runs every `idlePollMs`, while it is down every `pollMs`.
 * - Kalshi refusing the key (401/403) puts the actor in `degraded` and backs off for minutes
 *   (doubling, capped), with the socket closed: no request storm, no crash loop. The first
 *   sync that works again reports `recovered`.
 * - a sync that still meets 429 after the client's retries is degraded "kalshi rate limited
 *   (HTTP 429)" and the next one waits longer (pollMs doubled per such sync, at least the
 *   `Retry-After`); one that fails on network or 5xx is degraded "kalshi unreachable: …". The
 *   socket going down and coming back is logged once each (polling covers the gap).
 *   Every transition is reported and logged once (`lib/kalshi/health.ts`), not per request.
 * - without credentials it reports degraded "no Kalshi credentials configured" and does nothing.
 *
 * Bad items are rejected and counted (`rejected.<kind>`), logged with a rate limit, never written
 * (an identifier with a NUL, invalid UTF-8 or over-long is a bad item; the raw payload is
 * cleaned). A row PostgreSQL still refuses for its data is left out by the store, the others
 * written, and counted here (`rows.rejected`, logged with its reason, rate-limited); a refused
 * position keeps its stored row (see `lib/kalshi/account_store.ts`).
 *
 * @example
 * ```ts ignore
 * const actor = createAccountSync(ctx, { settings: resolveArgs(ctx.args), client, store });
 * await actor.start();
 * ```
 *
 * @module
 */
import { backoffDelay } from "../../lib/backoff.ts";
import type { z } from "zod";
import type { Actor, ActorContext } from "../_runtime.ts";
import { InputError } from "../../lib/errors.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import type { AccountStore } from "../../lib/kalshi/account_store.ts";
import type { KalshiClient } from "../../lib/kalshi/client.ts";
import {
  KalshiAuthError,
  KalshiRateLimitError,
  KalshiRequestError,
} from "../../lib/kalshi/errors.ts";
import { type Condition, HealthReporter } from "../../lib/kalshi/health.ts";
import {
  Balance,
  Fill,
  type KalshiFill,
  type KalshiOrder,
  type KalshiSettlement,
  MarketPosition,
  Order,
  Settlement,
  WsEnvelope,
} from "../../lib/kalshi/schemas.ts";
import { type ActorArgs, parseActorArgs } from "../../schema/actor_args.ts";

/**
 * Settings of the actor: its args (`schema/actor_args.ts`), defaults filled in. Never the key
 * itself: its file's path.
 */
export type AccountSyncSettings = ActorArgs<"kalshi_account_sync">;

/** Validates the actor's args. */
export function resolveArgs(args: Record<string, unknown>): AccountSyncSettings {
  return parseActorArgs("kalshi_account_sync", args);
}

/** What one sync wrote. */
export interface SyncResult {
  full: boolean;
  positions: number | null;
  orders: number;
  fills: number;
  settlements: number;
  rejected: number;
}

export interface AccountSyncDeps {
  settings: AccountSyncSettings;
  client: KalshiClient;
  store: AccountStore;
  /** Opens the signed WebSocket; none = polling only. */
  openSocket?: (signal: AbortSignal) => Promise<WebSocket>;
}

/** The actor, with `sync()` for tests and benchmarks. */
export interface AccountSync extends Actor {
  sync(full: boolean): Promise<SyncResult>;
}

/** The reason shown while Kalshi refuses the key. */
export function authReason(status: number): string {
  return `kalshi authentication refused (${status || 401})`;
}
/** The reason shown without credentials. */
export const NO_CREDENTIALS = "no Kalshi credentials configured";
/** The reason shown while Kalshi answers 429 after the client's retries. */
export const RATE_LIMITED = "kalshi rate limited (HTTP 429)";
/** Longest wait between syncs while rate limited (a `Retry-After` may ask for more). */
const RATE_LIMIT_BACKOFF_MAX_MS = 300_000;

/**
 * The health a failed sync shows: refused key, rate limited, unreachable (network, timeout, 5xx
 * after retries), or `undefined` for a failure that says nothing about Kalshi (a bad body).
 */
export function syncFailureCondition(error: unknown): Condition | undefined {
  if (error instanceof KalshiAuthError) {
    return { key: "auth", reason: authReason(error.status) };
  }
  if (error instanceof KalshiRateLimitError) {
    return { key: "rate_limited", reason: RATE_LIMITED };
  }
  if (error instanceof KalshiRequestError) {
    return {
      key: "unreachable",
      reason: `kalshi unreachable: ${error.message}`,
    };
  }
  return undefined;
}

function laterIso(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/** Creates the actor. */
export function createAccountSync(
  ctx: ActorContext,
  deps: AccountSyncDeps,
): AccountSync {
  const { settings, client, store } = deps;
  const warn = new RateLimitedLog(ctx.log, {
    perWindow: 5,
    windowMs: 60_000,
    now: () => ctx.clock.now(),
  });
  const health = new HealthReporter(ctx);
  /** The REST loop owns recovery from a refused key; the socket waits meanwhile. */
  const authRefused = () => health.current?.key === "auth";
  let wsUp = false;
  let socket: WebSocket | undefined;
  let pending = false;
  let wakeUp: (() => void) | undefined;
  let lastBalance: { value: string; at: number } | undefined;
  let mainLoop: Promise<void> | undefined;
  let socketLoop: Promise<void> | undefined;

  function wake(): void {
    pending = true;
    wakeUp?.();
  }

  /** Waits `delayMs`, or less when woken (unless `ignoreWake`) or stopped. */
  async function pause(delayMs: number, ignoreWake = false): Promise<void> {
    if (pending && !ignoreWake) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delayMs);
      const onAbort = () => done();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      if (!ignoreWake) wakeUp = done;
      function done() {
        clearTimeout(timer);
        ctx.signal.removeEventListener("abort", onAbort);
        if (wakeUp === done) wakeUp = undefined;
        resolve();
      }
    });
  }

  function parseAll<S extends z.ZodType>(
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
        ctx.count(`rejected.${kind}`);
        warn.warn(`reject:${kind}`, "Rejected a Kalshi {kind}: {why}", {
          kind,
          why: r.error.issues[0]?.message ?? "invalid",
        });
      }
    }
    return out;
  }

  async function all(
    path: string,
    key: string,
    query: Record<string, string | number> = {},
  ) {
    const items: unknown[] = [];
    for await (
      const page of client.pages(path, key, {
        query,
        limit: settings.pageLimit,
        signal: ctx.signal,
      })
    ) items.push(...page.items);
    return items;
  }

  async function since(
    stream: string,
    full: boolean,
  ): Promise<Record<string, number>> {
    if (full) return {};
    const c = await store.getCursor(stream);
    if (!c?.lastTime) return {};
    return {
      min_ts: Math.floor((c.lastTime.getTime() - settings.overlapMs) / 1000),
    };
  }

  async function advance(stream: string, newest: string | null): Promise<void> {
    if (newest === null) return;
    const c = await store.getCursor(stream);
    if (c?.lastTime && c.lastTime.getTime() >= Date.parse(newest)) return;
    await store.setCursor(stream, { cursor: null, lastTime: new Date(newest) });
  }

  /** Rows PostgreSQL refused during a sync, left out by the store: counted and logged. */
  function reportRefused(): void {
    const refused = store.takeRefused();
    if (refused.count === 0) return;
    ctx.count("rows.rejected", refused.count);
    for (const r of refused.rows) {
      warn.warn(
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

  async function sync(full: boolean): Promise<SyncResult> {
    try {
      return await syncOnce(full);
    } finally {
      reportRefused();
    }
  }

  async function syncOnce(full: boolean): Promise<SyncResult> {
    const result: SyncResult = {
      full,
      positions: null,
      orders: 0,
      fills: 0,
      settlements: 0,
      rejected: 0,
    };
    const observedMs = ctx.clock.now();
    const observed = new Date(observedMs);

    const balance = await client.get("/portfolio/balance", Balance, {
      signal: ctx.signal,
    });
    if (
      !lastBalance || lastBalance.value !== balance.balanceDollars ||
      observedMs - lastBalance.at >= settings.balanceEveryMs
    ) {
      await store.insertBalance(balance, observed);
      lastBalance = { value: balance.balanceDollars, at: observedMs };
    }

    // Positions: the whole list or nothing (a partial snapshot would delete real positions).
    const rawPositions = await all("/portfolio/positions", "market_positions");
    const before = result.rejected;
    const positions = parseAll(
      rawPositions,
      MarketPosition,
      "position",
      result,
    );
    if (result.rejected === before) {
      result.positions = await store.replacePositions(positions, observed);
    } else {
      ctx.count("rejected.positions_snapshot");
    }

    // Orders: resting ones always (their state changes), the rest since the cursor time.
    const orderQuery = await since("orders", full);
    const rawOrders = full ? await all("/portfolio/orders", "orders") : [
      ...await all("/portfolio/orders", "orders", { status: "resting" }),
      ...await all("/portfolio/orders", "orders", orderQuery),
    ];
    const orders: KalshiOrder[] = parseAll(rawOrders, Order, "order", result);
    result.orders = await store.upsertOrders(orders);
    await advance(
      "orders",
      orders.reduce<string | null>(
        (m, o) => laterIso(m, o.lastUpdateTime ?? o.createdTime),
        null,
      ),
    );

    const fills: KalshiFill[] = parseAll(
      await all("/portfolio/fills", "fills", await since("fills", full)),
      Fill,
      "fill",
      result,
    );
    result.fills = await store.insertFills(fills);
    await advance(
      "fills",
      fills.reduce<string | null>((m, f) => laterIso(m, f.createdTime), null),
    );

    const settlements: KalshiSettlement[] = parseAll(
      await all(
        "/portfolio/settlements",
        "settlements",
        await since("settlements", full),
      ),
      Settlement,
      "settlement",
      result,
    );
    result.settlements = await store.insertSettlements(settlements);
    await advance(
      "settlements",
      settlements.reduce<string | null>(
        (m, s) => laterIso(m, s.settledTime),
        null,
      ),
    );

    ctx.count("rows.orders", result.orders);
    ctx.count("rows.fills", result.fills);
    ctx.count("rows.settlements", result.settlements);
    ctx.count(full ? "syncs.full" : "syncs.incremental");
    ctx.handled();
    ctx.dataAt(observedMs);
    ctx.setDetails({
      user: settings.user,
      lastSyncAt: observed.toISOString(),
      lastSyncFull: full,
      socket: wsUp ? "up" : "down",
      positions: result.positions,
    });
    return result;
  }

  function closeSocket(): void {
    wsUp = false;
    try {
      socket?.close();
    } catch { /* already closed */ }
    socket = undefined;
  }

  function onFrame(data: unknown): void {
    let json: unknown;
    try {
      json = JSON.parse(String(data));
    } catch {
      ctx.count("rejected.ws_malformed_json");
      return;
    }
    const env = WsEnvelope.safeParse(json);
    if (!env.success) {
      ctx.count("rejected.ws_schema");
      return;
    }
    switch (env.data.type) {
      case "subscribed":
        if (!wsUp) {
          ctx.log.info("Kalshi WebSocket up: fills and positions stream in");
        }
        wsUp = true;
        break;
      case "fill":
      case "market_position":
        ctx.count(`ws.${env.data.type}`);
        wake();
        break;
      case "error":
        ctx.count("ws.error");
        warn.warn("ws-error", "Kalshi WebSocket error: {msg}", {
          msg: JSON.stringify(env.data.msg),
        });
        break;
    }
  }

  async function followSocket(
    open: (signal: AbortSignal) => Promise<WebSocket>,
  ): Promise<void> {
    /** Reconnects in a row without a session; a refused key jumps to the longest wait. */
    let failures = 0;
    const reconnect = {
      baseMs: settings.wsReconnectMinMs,
      maxMs: settings.wsReconnectMaxMs,
    };
    while (!ctx.signal.aborted) {
      if (authRefused()) {
        // The REST loop owns recovery; check back without touching Kalshi.
        await pause(Math.min(1_000, settings.wsReconnectMaxMs), true);
        continue;
      }
      try {
        const ws = await open(ctx.signal);
        socket = ws;
        ctx.count("ws.connects");
        await new Promise<void>((resolve) => {
          ws.onmessage = (e) => onFrame(e.data);
          ws.onclose = () => resolve();
          ws.onerror = () => {};
          ws.send(JSON.stringify({
            id: 1,
            cmd: "subscribe",
            params: { channels: ["market_positions", "fill"] },
          }));
        });
        failures = 0;
      } catch (error) {
        if (ctx.signal.aborted) return;
        if (error instanceof KalshiAuthError) {
          ctx.count("ws.auth_refused");
          failures = Number.MAX_SAFE_INTEGER;
        } else ctx.count("ws.errors");
      }
      const wasUp = wsUp;
      wsUp = false;
      socket = undefined;
      if (ctx.signal.aborted) return;
      ctx.count("ws.disconnects");
      // Polling takes over at once (a sync now, then every pollMs).
      if (wasUp) {
        ctx.log.warn(
          "Kalshi WebSocket down: polling every {pollMs} ms until it is back",
          {
            pollMs: settings.pollMs,
          },
        );
        wake();
      }
      failures = Math.min(failures + 1, Number.MAX_SAFE_INTEGER);
      await pause(backoffDelay(failures, reconnect), true);
    }
  }

  async function run(): Promise<void> {
    let lastFull = -Infinity;
    let authFailures = 0;
    let rateLimited = 0;
    while (!ctx.signal.aborted) {
      pending = false;
      const full = ctx.clock.monotonic() - lastFull >= settings.reconcileMs;
      let delay = settings.pollMs;
      try {
        await sync(full);
        if (full) lastFull = ctx.clock.monotonic();
        authFailures = 0;
        rateLimited = 0;
        // The socket starts after the first sync that works (never with a refused key).
        if (deps.openSocket && !socketLoop) {
          socketLoop = followSocket(deps.openSocket);
        }
        health.observe(null);
        delay = wsUp ? settings.idlePollMs : settings.pollMs;
      } catch (error) {
        if (ctx.signal.aborted) return;
        health.observe(syncFailureCondition(error));
        if (error instanceof KalshiAuthError) {
          authFailures++;
          ctx.count("auth.refused");
          closeSocket();
          delay = backoffDelay(authFailures, {
            baseMs: settings.authBackoffMs,
            maxMs: settings.authBackoffMaxMs,
            jitter: 0,
          });
          await pause(delay, true);
          continue;
        }
        if (error instanceof KalshiRateLimitError) {
          rateLimited++;
          ctx.count("errors.rate_limited");
          delay = Math.max(
            backoffDelay(rateLimited + 1, {
              baseMs: settings.pollMs,
              maxMs: RATE_LIMIT_BACKOFF_MAX_MS,
              jitter: 0,
            }),
            Math.min(error.retryAfterMs ?? 0, 900_000),
          );
        } else if (error instanceof InputError) {
          ctx.count(`rejected.${error.reason}`);
        } else ctx.count("errors.sync");
        warn.warn("sync", "Cannot sync Kalshi account {user}: {why}", {
          user: settings.user,
          why: error instanceof Error ? error.message : String(error),
        });
      }
      // While rate limited, a socket frame must not cut the backoff short.
      await pause(delay, rateLimited > 0);
    }
  }

  return {
    sync,
    start() {
      if (!client.authenticated) {
        // Reported after `ready`, so the supervisor sees running → degraded.
        setTimeout(
          () => health.observe({ key: "credentials", reason: NO_CREDENTIALS }),
          0,
        );
        ctx.setDetails({ user: settings.user, credentials: "none" });
        return Promise.resolve();
      }
      mainLoop = run();
      return Promise.resolve();
    },
    async stop() {
      closeSocket();
      wakeUp?.();
      await mainLoop;
      await socketLoop;
    },
    async command(name) {
      if (name === "sync") return await sync(false);
      if (name === "reconcile") return await sync(true);
      throw new Error(`unknown command "${name}"`);
    },
  };
}
