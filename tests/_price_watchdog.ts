/**
 * Test helpers of the price watchdog: host the actor in-process over the real runtime protocol
 * against a test database and the fake Coinbase, and compute the expected rows independently of
 * `momentum.ts` (brute force, straight from DESIGN.md §3).
 *
 * @module
 */
import { type Clock, systemClock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import { hostActor, type Port } from "../actors/_runtime.ts";
import type {
  ActorMessage,
  InitMessage,
  LeaseGrant,
  Progress,
  SupervisorMessage,
} from "../schema/messages.ts";
import { createPriceWatchdog, resolveArgs } from "../actors/price_watchdog/mod.ts";
import {
  createPriceStore,
  type PriceRow,
  type PriceStore,
  type PriceStoreOptions,
} from "../actors/price_watchdog/store.ts";
import { getLogger } from "../lib/log.ts";
import { eventually } from "./_eventually.ts";

/**
 * A store of `btc` on `sql` whose counters and gauges land in `counters`, flushing every 20 ms;
 * `options` sets the rest (batch and buffer sizes, the bulk pool, another symbol).
 */
export function testStore(
  sql: Sql,
  counters: Record<string, number>,
  options: Partial<PriceStoreOptions> & Pick<PriceStoreOptions, "maxBatch" | "bufferRows">,
): PriceStore {
  return createPriceStore({
    sql,
    symbol: "btc",
    clock: systemClock,
    log: getLogger("test"),
    count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k),
    gauge: (n, v) => void (counters[n] = v),
    flushMs: 20,
    ...options,
  });
}

/** A hosted watchdog. */
/** A hosted watchdog; `await using` stops it at the end of the scope (stop runs once). */
export interface Hosted extends AsyncDisposable {
  messages: ActorMessage[];
  /** Live counters of the actor. */
  counters(): Record<string, number>;
  progress(): Progress;
  fatal(): unknown;
  stop(): Promise<void>;
  durable: { row: PriceRow; at: number }[];
  /** Posts a supervisor message (a lease change) to the actor. */
  send(message: SupervisorMessage): void;
  /** Runs a command; resolves its result, rejects with its error. */
  command(name: string): Promise<unknown>;
}

/** Starts a watchdog over an in-process port; resolves once it is ready. */
export async function hostWatchdog(options: {
  sql: Sql;
  args: Record<string, unknown>;
  /** The actor's clock (the store keeps real time). */
  clock?: Clock;
  endSql?: boolean;
  /** The store's bulk pool factory (as the worker passes it). */
  bulk?: () => Sql;
  /** The lease in the init (cluster mode): a grant, or null for a warm standby. */
  lease?: LeaseGrant | null;
}): Promise<Hosted> {
  const messages: ActorMessage[] = [];
  const durable: { row: PriceRow; at: number }[] = [];
  let fatal: unknown;
  const port: Port = { postMessage: (m) => void messages.push(m), onmessage: null };
  const clock = options.clock ?? systemClock;
  hostActor(port, (ctx) => {
    const settings = resolveArgs(options.args);
    const store = createPriceStore({
      sql: options.sql,
      symbol: settings.symbol.toLowerCase(),
      // Real time for the store, whose flush timers run on its clock: a test's manual `clock`
      // sets the actor's time (frames ahead of it are rejected), not when rows are written.
      clock: systemClock,
      log: ctx.log,
      count: ctx.count,
      gauge: ctx.gauge,
      flushMs: settings.flushMs,
      maxBatch: settings.maxBatch,
      bufferRows: settings.bufferRows,
      endSql: options.endSql ?? false,
      ...(options.bulk ? { bulk: options.bulk } : {}),
      // As the worker wires it.
      lease: () => ctx.lease.current,
      fenced: (error) => ctx.lease.fenced(error),
      onDurable: (rows) => {
        const at = performance.now();
        for (const row of rows) durable.push({ row, at });
      },
    });
    return createPriceWatchdog(ctx, { settings, store, onFatal: (e) => (fatal = e) });
  }, { clock });
  const init: InitMessage = {
    type: "init",
    id: `price_watchdog:${String(options.args.symbol).toLowerCase()}`,
    incarnation: 1,
    node: "test",
    args: options.args,
    heartbeatMs: 50,
    log: { format: "json", level: "fatal" },
    ...(options.lease !== undefined ? { lease: options.lease } : {}),
  };
  port.onmessage!({ data: init } as MessageEvent);
  await eventually(() => {
    const f = messages.find((m) => m.type === "fatal");
    if (f) throw new Error(`actor failed: ${JSON.stringify(f)}`);
    return messages.some((m) => m.type === "ready");
  }, { message: "watchdog not ready" });
  const progress = () => {
    const beats = messages.filter((m) => m.type === "heartbeat");
    const last = beats[beats.length - 1];
    if (!last || last.type !== "heartbeat") throw new Error("no heartbeat yet");
    return last.progress;
  };
  const send = (message: SupervisorMessage) => port.onmessage!({ data: message } as MessageEvent);
  let commands = 0;
  const command = async (name: string) => {
    const id = ++commands;
    send({ type: "command", id, name });
    const answer = await eventually(
      () => messages.find((m) => m.type === "command_result" && m.id === id),
      { message: `no answer to command "${name}"` },
    );
    if (answer.type !== "command_result") throw new Error("unreachable");
    if (!answer.ok) throw new Error(answer.error);
    return answer.result;
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      port.onmessage!({ data: { type: "stop", reason: "test" } } as MessageEvent);
      await eventually(() => messages.some((m) => m.type === "stopped"), {
        message: "watchdog did not stop",
      });
    })();
  return {
    messages,
    durable,
    progress,
    counters: () => progress().counters,
    fatal: () => fatal,
    stop,
    send,
    command,
    [Symbol.asyncDispose]: stop,
  };
}

/** A row as read back from the table. */
export interface DbRow {
  t: number;
  price: string;
  momentum: string | null;
  deltas: (string | null)[];
  receivedAt: number;
  /** False when the second's last trade may be missing (migration 0070). */
  complete: boolean;
}

/** Reads a symbol's price log in time order. */
export async function readRows(sql: Sql, symbol = "btc"): Promise<DbRow[]> {
  const rows = await sql<
    {
      timestamp: Date;
      price: string;
      momentum: string | null;
      d1: string | null;
      d2: string | null;
      d3: string | null;
      d4: string | null;
      d15: string | null;
      d30: string | null;
      received_at: Date;
      complete: boolean;
    }[]
  >`select "timestamp", price::text as price, momentum::text as momentum,
      delta_1m::text as d1, delta_2m::text as d2, delta_3m::text as d3, delta_4m::text as d4,
      delta_15m::text as d15, delta_30m::text as d30, received_at, complete
    from ${sql(`live_data.${symbol}_price_log`)} order by "timestamp"`;
  return rows.map((r) => ({
    t: r.timestamp.getTime(),
    price: r.price,
    momentum: r.momentum,
    deltas: [r.d1, r.d2, r.d3, r.d4, r.d15, r.d30],
    receivedAt: r.received_at.getTime(),
    complete: r.complete,
  }));
}

/** Candle closes by minute start. */
export async function readCandles(sql: Sql, symbol = "btc"): Promise<Map<number, number>> {
  const rows = await sql<{ timestamp: Date; close: string }[]>`
    select "timestamp", close::text as close from ${sql(`historical_data.${symbol}_ohlc_1m`)}`;
  return new Map(rows.map((r) => [r.timestamp.getTime(), Number(r.close)]));
}

/** Expected per-second rows of ticks (in send order): last price of each second wins. */
export function expectedSeconds(
  ticks: readonly { timeMs: number; price: string }[],
): { t: number; price: string }[] {
  const bySecond = new Map<number, string>();
  for (const tick of ticks) bySecond.set(Math.floor(tick.timeMs / 1000) * 1000, tick.price);
  return [...bySecond].map(([t, price]) => ({ t, price })).sort((a, b) => a.t - b.t);
}

const MINUTES = [1, 2, 3, 4, 15, 30];
const W = [0.30, 0.25, 0.20, 0.15, 0.05, 0.05];

/**
 * Deltas and momentum of every row, by brute force over all rows: price_at(t) is the newest row
 * at or before t if it is at most 60 s older than t, else the candle whose minute covers t.
 */
export function expectedDeltas(
  rows: readonly { t: number; price: string }[],
  candles: ReadonlyMap<number, number> = new Map(),
): { t: number; deltas: (number | null)[]; momentum: number | null }[] {
  return rows.map((row, i) => {
    const now = Number(row.price);
    const deltas = MINUTES.map((n) => {
      const target = row.t - n * 60_000;
      let at: number | null = null;
      for (let j = i - 1; j >= 0; j--) {
        const r = rows[j]!;
        if (r.t <= target) {
          if (target - r.t <= 60_000) at = Number(r.price);
          break;
        }
      }
      if (at === null) at = candles.get(target - (target % 60_000)) ?? null;
      return at === null ? null : (now - at) / at * 100;
    });
    let sum = 0;
    let weight = 0;
    deltas.forEach((d, k) => {
      if (d !== null) {
        sum += W[k]! * d;
        weight += W[k]!;
      }
    });
    return { t: row.t, deltas, momentum: weight > 0 ? sum / weight : null };
  });
}

/** Asserts a numeric(10,6) from the table equals an exact value (to its rounding). */
export function sameNumeric(actual: string | null, expected: number | null): boolean {
  if (actual === null || expected === null) return actual === expected;
  return Math.abs(Number(actual) - expected) <= 0.5e-6 + 1e-12;
}

/** A deterministic pseudo-random source (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random walk of ticks from `startMs` to `endMs`: several per second, quiet spells, gaps. */
export function randomTicks(
  startMs: number,
  endMs: number,
  options: { seed?: number; price?: number; longGaps?: boolean } = {},
): { timeMs: number; price: string }[] {
  const rnd = seeded(options.seed ?? 7);
  let price = options.price ?? 68_000;
  let t = startMs;
  const out: { timeMs: number; price: string }[] = [];
  while (t < endMs) {
    price = Math.max(1, price * (1 + (rnd() - 0.5) * 0.002));
    out.push({ timeMs: t, price: price.toFixed(2) });
    const r = rnd();
    // Same second, a few seconds, or (rarely) a gap longer than price_at's 60 s lookback.
    t += r < 0.35
      ? Math.floor(rnd() * 300)
      : r < 0.97 || !options.longGaps
      ? 500 + Math.floor(rnd() * 8_000)
      : 61_000 + Math.floor(rnd() * 90_000);
  }
  return out;
}
