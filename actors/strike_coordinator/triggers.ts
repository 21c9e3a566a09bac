/**
 * When the strike coordinator runs a cycle: as soon as its inputs change, not on a fixed beat.
 * It `LISTEN`s (`lib/notify_channels.ts`) on `recio_price_<sym>` (a price row of its symbol
 * committed) and `recio_market_snapshot` (a market snapshot of its series committed), and each
 * such notification asks for a cycle; a slow timer (`safetyMs`) still runs one when nothing
 * arrived for that long, so a lost notification, a dead listen connection or an input that goes
 * stale without any write (the table must then be flagged) is seen within it.
 *
 * Coalescing: at most one cycle runs and at most one more is queued; requests while one is
 * queued only count `triggers.coalesced`, since the queued cycle reads the newest rows anyway.
 * After each (re)connect of the listen connection a cycle runs, for what was written while it
 * was down. A payload that is not of the documented shape is ignored and counted
 * (`rejected.bad_notification`, logged at most once a minute); a market snapshot of another
 * series is ignored.
 *
 * @module
 */
import type { ActorContext } from "../_runtime.ts";
import { RateLimitedLog } from "../../lib/log.ts";
import {
  MARKET_SNAPSHOT_CHANNEL,
  parseMarketSnapshotNotification,
  parsePriceNotification,
  priceChannel,
} from "../../lib/notify_channels.ts";

/** How long `start` waits for the LISTEN before the first cycle runs anyway. */
const LISTEN_WAIT_MS = 2_000;

/** One LISTEN: `unlisten` ends it. */
export interface Listening {
  unlisten(): Promise<void>;
}

/**
 * Starts listening on `channel` (postgres.js `sql.listen`: one dedicated connection per pool,
 * re-listened after a reconnect); `onListen` runs after each (re)listen.
 */
export type Listen = (
  channel: string,
  onPayload: (payload: string) => void,
  onListen: () => void,
) => Promise<Listening>;

/** Why a cycle was asked for. */
export type Cause = "start" | "price" | "market" | "timer" | "relisten";

export interface CycleLoopOptions {
  ctx: ActorContext;
  /** The coordinator's symbol (`BTC`). */
  symbol: string;
  /** A cycle runs at the latest this long after the previous one ended. */
  safetyMs: number;
  /** One cycle; a rejection is counted `cycles.failed` and logged. */
  cycle: () => Promise<unknown>;
  /** Absent: no notifications, the timer alone drives the cycles. */
  listen?: Listen;
}

/** The loop: `start` listens and runs the first cycle, `stop` waits for the one running. */
export function createCycleLoop(o: CycleLoopOptions) {
  const { ctx } = o;
  const series = `KX${o.symbol.toUpperCase()}D`;
  const lower = o.symbol.toLowerCase();
  const badLog = new RateLimitedLog(ctx.log, {
    perWindow: 1,
    windowMs: 60_000,
    now: () => ctx.clock.monotonic(),
  });
  let running: Promise<void> | undefined;
  let queued: Cause | undefined;
  let stopped = false;
  let cancelTimer: (() => void) | undefined;
  let cancelRetry: (() => void) | undefined;
  const listening: Listening[] = [];

  function arm(ms: number): void {
    cancelTimer?.();
    cancelTimer = ctx.clock.setTimer(() => {
      cancelTimer = undefined;
      request("timer");
    }, ms);
  }

  function run(cause: Cause): void {
    cancelTimer?.();
    cancelTimer = undefined;
    ctx.count(`triggers.${cause}`);
    const t0 = ctx.clock.monotonic();
    running = o.cycle().then(() => {}, (e) => {
      ctx.count("cycles.failed");
      ctx.log.error("Strike table cycle failed: {error}", {
        error: e instanceof Error ? e.message : String(e),
      });
    }).finally(() => {
      running = undefined;
      ctx.gauge("cycle.ms", Math.round(ctx.clock.monotonic() - t0));
      if (stopped) return;
      const next = queued;
      queued = undefined;
      if (next) run(next);
      else arm(o.safetyMs);
    });
  }

  /** Asks for a cycle: now when none runs, else once after the running one. */
  function request(cause: Cause): void {
    if (stopped) return;
    if (running === undefined) return run(cause);
    if (queued) ctx.count("triggers.coalesced");
    else queued = cause;
  }

  function bad(channel: string, payload: string): void {
    ctx.count("rejected.bad_notification");
    badLog.warn(channel, "Ignored a malformed notification on {channel}: {payload}", {
      channel,
      payload: payload.slice(0, 120),
    });
  }

  function onPrice(channel: string, payload: string): void {
    const n = parsePriceNotification(payload);
    if (!n || n.symbol !== lower) return bad(channel, payload);
    request("price");
  }

  function onMarket(payload: string): void {
    const n = parseMarketSnapshotNotification(payload);
    if (!n) return bad(MARKET_SNAPSHOT_CHANNEL, payload);
    if (n.series === series) request("market");
  }

  /** LISTENs on both channels; retried after `safetyMs` when the database refuses. */
  async function listenAll(listen: Listen): Promise<void> {
    const channel = priceChannel(o.symbol);
    const handlers: [string, (p: string) => void][] = [
      [channel, (p) => onPrice(channel, p)],
      [MARKET_SNAPSHOT_CHANNEL, onMarket],
    ];
    try {
      for (const [name, fn] of handlers.slice(listening.length)) {
        let first = true;
        listening.push(
          await listen(name, fn, () => {
            if (first) first = false;
            else request("relisten");
          }),
        );
      }
    } catch (e) {
      ctx.count("listen.failed");
      ctx.log.warn("Cannot LISTEN for price and market notifications: {error}", {
        error: e instanceof Error ? e.message : String(e),
      });
      if (stopped) return;
      cancelRetry = ctx.clock.setTimer(() => {
        cancelRetry = undefined;
        if (!stopped) {
          void listenAll(listen).then(() => {
            if (listening.length === handlers.length) request("relisten");
          });
        }
      }, o.safetyMs);
    }
  }

  return {
    request,
    async start(): Promise<void> {
      // Listen first, so nothing committed after the first cycle's reads goes unnoticed; but a
      // database slow to answer does not hold the start up: past LISTEN_WAIT_MS the first cycle
      // runs, and another once the LISTEN is in place.
      if (o.listen) {
        let cancel = () => {};
        const listened = listenAll(o.listen).then(() => true);
        const inTime = await Promise.race([
          listened,
          new Promise<false>((r) => (cancel = ctx.clock.setTimer(() => r(false), LISTEN_WAIT_MS))),
        ]);
        cancel();
        if (!inTime) void listened.then(() => request("relisten"));
      }
      run("start");
    },
    async stop(): Promise<void> {
      stopped = true;
      cancelTimer?.();
      cancelRetry?.();
      await Promise.allSettled(listening.map((l) => l.unlisten()));
      while (running) await running;
    },
  };
}
