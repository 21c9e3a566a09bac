/**
 * The account sync's trades (`lib/trades/store.ts`, see `mod.ts`): after each sync it rebuilds
 * the trades of the markets whose fills or settlements came back (every market of the user after
 * a full reconcile, which runs at start and under each new grant: a crash between storing fills
 * and building their trades converges there), and every `ACTIVE_REFRESH_MS` it refreshes the open
 * trades in `active_trades` and reads the context at entry of the trades that are due (with no
 * open trade and no context due it looks only every `IDLE_REFRESH_MS`, or after a sync wrote
 * trades). Markets whose rebuild failed are kept and rebuilt first next time.
 *
 * A fill or settlement the builder refuses is counted once, when it is first refused
 * (`trades.rejected` and `trades.rejected.<reason>`), and logged with a rate limit; it stays in
 * `<user>.trade_rejections` until a later build accepts it. A write refused for a stale grant is
 * reported as the sync reports it (`ctx.lease.fenced`); any other failure of the refresh is
 * counted (`errors.trades`), logged, and tried again a second later.
 *
 * @module
 */
import type { ActorContext } from "../_runtime.ts";
import { FencedError, isFenced } from "../../lib/fence.ts";
import type { RateLimitedLog } from "../../lib/log.ts";
import { sleep } from "../../lib/sleep.ts";
import { CONTEXT_DELAY_MS, type RebuildResult, type TradeStore } from "../../lib/trades/store.ts";

/** How often open trades are refreshed. */
export const ACTIVE_REFRESH_MS = 1_000;
/** How often the loop looks again while there is nothing to refresh (no open trade, no context due). */
export const IDLE_REFRESH_MS = 60_000;

/** The trades part of one account sync. */
export interface TradeKeeper {
  /** Rebuilds the trades of `tickers` ("all": every market), then reads due contexts. */
  afterSync(tickers: readonly string[] | "all"): Promise<RebuildResult>;
  /** One refresh: due contexts, then `active_trades`; returns the open trades. */
  refresh(): Promise<number>;
  /** Refreshes every `ACTIVE_REFRESH_MS` until `stop()` or the actor's stop signal. */
  follow(): Promise<void>;
  stop(): void;
}

/** Creates the trades part of an account sync. */
export function createTradeKeeper(
  ctx: ActorContext,
  deps: { trades: TradeStore; warn: RateLimitedLog },
): TradeKeeper {
  const { trades, warn } = deps;
  const pending = new Set<string>();
  let pendingAll = false;
  let lastWrite = -Infinity;
  let idleSince: number | null = null;
  const stopped = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stopped.signal]);

  function report(r: RebuildResult): void {
    ctx.count("trades.written", r.written);
    if (r.deleted > 0) ctx.count("trades.deleted", r.deleted);
    for (const x of r.newRejections) {
      ctx.count("trades.rejected");
      ctx.count(`trades.rejected.${x.reason}`);
      warn.warn(`trade:${x.reason}`, "Trades of {user} leave out {kind} {ref}: {reason}", {
        user: trades.user,
        kind: x.kind,
        ref: x.ref,
        reason: x.reason,
      });
    }
  }

  async function afterSync(tickers: readonly string[] | "all"): Promise<RebuildResult> {
    if (tickers === "all") pendingAll = true;
    else for (const t of tickers) pending.add(t);
    const r = await trades.rebuild(pendingAll ? "all" : [...pending]);
    pendingAll = false;
    pending.clear();
    report(r);
    if (r.written > 0 || r.deleted > 0) {
      lastWrite = ctx.clock.monotonic();
      idleSince = null;
    }
    await trades.fillContext(ctx.clock.now());
    return r;
  }

  async function refresh(): Promise<number> {
    if (pendingAll || pending.size > 0) await afterSync([]);
    const now = ctx.clock.now();
    const read = await trades.fillContext(now);
    const open = await trades.refreshActive(now);
    ctx.gauge("trades.open", open);
    // Idle: nothing open, no context read, and none due from the last write.
    const mono = ctx.clock.monotonic();
    const quiet = open === 0 && read === 0 && mono - lastWrite > CONTEXT_DELAY_MS;
    idleSince = quiet ? (idleSince ?? mono) : null;
    return open;
  }

  /** Whether the loop may skip this second (idle, and looked within `IDLE_REFRESH_MS`). */
  function skip(): boolean {
    if (idleSince === null || pendingAll || pending.size > 0) return false;
    if (ctx.clock.monotonic() - idleSince < IDLE_REFRESH_MS) return true;
    idleSince = null;
    return false;
  }

  async function follow(): Promise<void> {
    while (!signal.aborted) {
      const grant = ctx.lease.current;
      if (grant !== null && !skip()) {
        try {
          await refresh();
        } catch (error) {
          if (signal.aborted) return;
          if (isFenced(error) && !(error instanceof FencedError)) {
            if (ctx.lease.current === grant) ctx.lease.fenced(error);
            else ctx.count("writes.fenced");
          } else if (!isFenced(error)) {
            ctx.count("errors.trades");
            warn.warn("trades", "Cannot refresh the trades of {user}: {why}", {
              user: trades.user,
              why: error instanceof Error ? error.message : String(error),
            });
          }
        }
      }
      try {
        await sleep(ACTIVE_REFRESH_MS, { signal, clock: ctx.clock });
      } catch {
        return; // stopped
      }
    }
  }

  return { afterSync, refresh, follow, stop: () => stopped.abort() };
}
