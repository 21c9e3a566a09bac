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
 * - a cold singleton in cluster mode: every write of the store proves `ctx.lease.current`
 *   (`lib/fence.ts`, as the user's own role). While the lease is not held nothing is synced; a
 *   write the database refuses for a stale grant commits nothing, is reported
 *   (`ctx.lease.fenced`, counted `writes.fenced`, not a sync error) and never retried under that
 *   grant. A new grant starts with a full reconcile (idempotent on natural keys, like a new holder
 *   starting).
 * - with a trade store (`deps.trades`), the trades: after each sync those of the markets whose
 *   fills or settlements came back are rebuilt from the stored rows (all after a full
 *   reconcile), and every second the open ones are refreshed in `active_trades` (`trades.ts`),
 *   fenced like every other write.
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
 * Parts: `settings.ts` (args, health reasons), `sync.ts` (one REST sync), `socket.ts` (the
 * WebSocket loop), `wake.ts` (the wake-up and pause both loops share); here, the poll loop.
 *
 * @module
 */
import { backoffDelay } from "../../lib/backoff.ts";
import type { Actor, ActorContext } from "../_runtime.ts";
import { InputError } from "../../lib/errors.ts";
import { FencedError, isFenced, requireGrant } from "../../lib/fence.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import type { AccountStore } from "../../lib/kalshi/account_store.ts";
import type { KalshiClient } from "../../lib/kalshi/client.ts";
import { KalshiAuthError, KalshiRateLimitError } from "../../lib/kalshi/errors.ts";
import { HealthReporter } from "../../lib/kalshi/health.ts";
import {
  type AccountSyncSettings,
  NO_CREDENTIALS,
  RATE_LIMIT_BACKOFF_MAX_MS,
  syncFailureCondition,
} from "./settings.ts";
import { createAccountSocket } from "./socket.ts";
import { createSync, type SyncResult } from "./sync.ts";
import { createTradeKeeper } from "./trades.ts";
import type { TradeStore } from "../../lib/trades/store.ts";
import { createWaker } from "./wake.ts";

export {
  type AccountSyncSettings,
  authReason,
  NO_CREDENTIALS,
  RATE_LIMITED,
  resolveArgs,
  syncFailureCondition,
} from "./settings.ts";
export type { SyncResult } from "./sync.ts";

export interface AccountSyncDeps {
  settings: AccountSyncSettings;
  client: KalshiClient;
  store: AccountStore;
  /** Opens the signed WebSocket; none = polling only. */
  openSocket?: (signal: AbortSignal) => Promise<WebSocket>;
  /** The user's trades (`lib/trades/store.ts`); none = no trades are built. */
  trades?: TradeStore;
}

/** The actor, with `sync()` for tests and benchmarks. */
export interface AccountSync extends Actor {
  sync(full: boolean): Promise<SyncResult>;
  /** One refresh of the open trades (what the loop does every second); 0 without trades. */
  refreshTrades(): Promise<number>;
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
  const waker = createWaker(ctx.signal);
  const ws = createAccountSocket(ctx, { settings, warn, waker, authRefused });
  const trades = deps.trades ? createTradeKeeper(ctx, { trades: deps.trades, warn }) : undefined;
  const pass = createSync(ctx, { settings, client, store, warn, socketUp: ws.isUp, trades });
  /** One sync; a write refused for a stale grant is reported (unless the grant changed since). */
  async function sync(full: boolean): Promise<SyncResult> {
    // Not the holder: not even a request to Kalshi, whose answer could not be written.
    const grant = requireGrant(ctx.lease.current);
    try {
      return await pass(full);
    } catch (error) {
      if (isFenced(error) && !(error instanceof FencedError)) {
        if (ctx.lease.current === grant) ctx.lease.fenced(error);
        else ctx.count("writes.fenced");
      }
      throw error;
    }
  }
  let regranted = false;
  ctx.lease.onChange((grant) => {
    if (grant) regranted = true;
    waker.wake();
  });
  let mainLoop: Promise<void> | undefined;
  let socketLoop: Promise<void> | undefined;
  let tradesLoop: Promise<void> | undefined;

  async function run(): Promise<void> {
    let lastFull = -Infinity;
    let authFailures = 0;
    let rateLimited = 0;
    while (!ctx.signal.aborted) {
      waker.clear();
      if (ctx.lease.current === null) {
        // Not the holder: write nothing until granted again (a new grant wakes this pause).
        await waker.pause(settings.pollMs);
        continue;
      }
      if (regranted) lastFull = -Infinity;
      regranted = false;
      const full = ctx.clock.monotonic() - lastFull >= settings.reconcileMs;
      let delay = settings.pollMs;
      try {
        await sync(full);
        if (full) lastFull = ctx.clock.monotonic();
        authFailures = 0;
        rateLimited = 0;
        // The socket starts after the first sync that works (never with a refused key).
        if (deps.openSocket && !socketLoop) {
          socketLoop = ws.follow(deps.openSocket);
        }
        health.observe(null);
        delay = ws.isUp() ? settings.idlePollMs : settings.pollMs;
      } catch (error) {
        if (ctx.signal.aborted) return;
        if (isFenced(error)) continue; // reported by sync(): neither Kalshi's nor the database's fault
        health.observe(syncFailureCondition(error));
        if (error instanceof KalshiAuthError) {
          authFailures++;
          ctx.count("auth.refused");
          ws.close();
          delay = backoffDelay(authFailures, {
            baseMs: settings.authBackoffMs,
            maxMs: settings.authBackoffMaxMs,
            jitter: 0,
          });
          await waker.pause(delay, true);
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
      await waker.pause(delay, rateLimited > 0);
    }
  }

  return {
    sync,
    refreshTrades: () => trades?.refresh() ?? Promise.resolve(0),
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
      tradesLoop = trades?.follow();
      return Promise.resolve();
    },
    async stop() {
      ws.close();
      waker.interrupt();
      trades?.stop();
      await mainLoop;
      await socketLoop;
      await tradesLoop;
    },
    async command(name) {
      if (name === "sync") return await sync(false);
      if (name === "reconcile") return await sync(true);
      throw new Error(`unknown command "${name}"`);
    },
  };
}
