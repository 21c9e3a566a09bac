/**
 * The arguments of every actor (a child spec's `args`), one zod schema each, shared by both sides
 * of the worker wall: `supervisor/children.ts` builds `args` typed as the schema's input (a
 * misspelt or missing key fails the type check), and each worker parses what it received with
 * {@linkcode parseActorArgs}, so a bad child list (`RECIO_CHILDREN_FILE`) makes that actor fail
 * to start with a message naming it and the key. Actor-side defaults are written here only.
 *
 * @example
 * ```ts
 * import { parseActorArgs } from "./actor_args.ts";
 * const args = parseActorArgs("retention", {});
 * console.log(args.retentionMonths); // 36
 * ```
 *
 * @module
 */
import { z } from "zod";
import { ConfigError } from "../lib/errors.ts";

/** Coinbase's public endpoints, the price watchdog's defaults (exchange-protocols.md §A1-A3). */
export const COINBASE_URLS = {
  advanced: "wss://advanced-trade-ws.coinbase.com",
  exchange: "wss://ws-feed.exchange.coinbase.com",
  rest: "https://api.exchange.coinbase.com",
} as const;

/** The streams a Kalshi historical ingest can page through. */
export const INGEST_STREAMS = ["fills", "settlements", "orders"] as const;

const int = (min: number) => z.number().int().min(min);
const coinSymbol = z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,15}$/, "letters and digits");
const kalshiUser = z.string().regex(/^user_[0-9]{4}$/, "a name like user_0001");

/** `price_watchdog:<sym>`: one Coinbase product. */
export const PriceWatchdogArgs = z.object({
  symbol: coinSymbol,
  productId: z.string().regex(/^[A-Z0-9]+-[A-Z0-9]+$/, "like BTC-USD").optional(),
  feed: z.enum(["advanced", "exchange"]).default("advanced"),
  wsUrl: z.string().url().optional(),
  restUrl: z.string().url().default(COINBASE_URLS.rest),
  flushMs: int(10).default(250),
  maxBatch: int(1).default(500),
  bufferRows: int(3600).default(7200),
  silenceMs: int(100).default(5_000),
  maxReconnectAttempts: int(1).default(10),
  /** Emit the open second after this long without a frame (a quiet feed). */
  idleEmitMs: int(100).default(2_000),
  /** Longest wait for a gap's candles before rows after the gap are computed anyway. */
  backfillTimeoutMs: int(100).default(10_000),
}).strict();

/** `kalshi_market_watchdog`: the public market data of some series. */
export const MarketWatchdogArgs = z.object({
  baseUrl: z.string().url(),
  series: z.array(z.string().regex(/^[A-Z0-9]+$/)).min(1).default(["KXBTCD", "KXETHD"]),
  pollMs: z.number().int().min(10).default(1_000),
  readPerSecond: z.number().positive().default(20),
  timeoutMs: z.number().int().positive().default(10_000),
  archiveDir: z.string().min(1).optional(),
  /** At most one archive file per event per this long. */
  archiveEveryMs: z.number().int().nonnegative().default(60_000),
  /** Longest wait between polls while Kalshi answers 429 (a `Retry-After` may ask for more). */
  rateLimitBackoffMaxMs: z.number().int().min(10).default(60_000),
}).strict();

/** `kalshi_account_sync:<user>`: one user's account, with its key file (never the key). */
export const AccountSyncArgs = z.object({
  user: kalshiUser,
  baseUrl: z.string().url(),
  wsUrl: z.string().url().optional(),
  keyId: z.string().min(1).optional(),
  keyPath: z.string().min(1).optional(),
  pollMs: int(10).default(5_000),
  idlePollMs: int(10).default(60_000),
  reconcileMs: int(10).default(900_000),
  authBackoffMs: int(10).default(300_000),
  authBackoffMaxMs: int(10).default(1_800_000),
  wsReconnectMinMs: int(10).default(1_000),
  wsReconnectMaxMs: int(10).default(60_000),
  readPerSecond: z.number().positive().default(20),
  writePerSecond: z.number().positive().default(10),
  timeoutMs: int(1).default(10_000),
  pageLimit: z.number().int().min(1).max(1000).default(1000),
  /** Incremental reads start this long before the newest stored time. */
  overlapMs: int(0).default(60_000),
  /** A balance row at least this often, and whenever it changes. */
  balanceEveryMs: int(0).default(60_000),
}).strict();

/** `kalshi_historical_ingest:<user>`: one backfill of a user's history (a job). */
export const HistoricalIngestArgs = z.object({
  user: kalshiUser,
  baseUrl: z.string().url(),
  keyId: z.string().min(1),
  keyPath: z.string().min(1),
  since: z.iso.date().optional(),
  streams: z.array(z.enum(INGEST_STREAMS)).default([...INGEST_STREAMS]),
  readPerSecond: z.number().positive().default(20),
}).strict();

/**
 * `strike_coordinator:<sym>`. Every key is required: the configuration (`lib/config.ts`) holds
 * their defaults, and a coordinator missing one would compute nonsense.
 */
export const StrikeCoordinatorArgs = z.object({
  symbol: coinSymbol,
  mode: z.enum(["closed_form", "empirical"]),
  cycleMs: int(1),
  strikeCount: int(1),
  volWindowS: int(1),
  volFloorAnnual: z.number().nonnegative(),
  /** μ per second = coefficient × momentum (as a fraction) per minute. 0 = driftless. */
  momentumDrift: z.number(),
  priceMaxAgeMs: int(1),
  marketMaxAgeMs: int(1),
  /** Directory of the JSON files; null = no files. */
  outputDir: z.string().min(1).nullable(),
  watchlist: z.object({
    minVolume: z.number(),
    minProbability: z.number(),
    maxAsk: z.number(),
    minDiff: z.number(),
  }).strict(),
}).strict();

/** `system_monitor`. */
export const SystemMonitorArgs = z.object({
  intervalMs: int(1).default(15_000),
  /** The folder whose file system's free space is checked. */
  dataDir: z.string().min(1).default("."),
}).strict();

/** The `partition_maintenance` job. */
export const PartitionMaintenanceArgs = z.object({
  monthsAhead: int(1).default(3),
  retentionMonths: int(1).default(36),
}).strict();

/** The `retention` job. */
export const RetentionArgs = z.object({
  retentionMonths: int(1).default(36),
}).strict();

/** The `backup` job. */
export const BackupArgs = z.object({
  /** Absolute folder of the dumps (also the worker's only read and write permission). */
  dir: z.string().min(1),
  /** Folders holding a `pg_dump`; the job picks the one that fits the server. */
  pgBinDirs: z.array(z.string().min(1)).default([]),
  keepDaily: int(0).default(7),
  keepWeekly: int(0).default(4),
}).strict();

/** The `history_backfill` job. */
export const HistoryBackfillArgs = z.object({
  symbols: z.array(coinSymbol).min(1),
  days: z.number().int().min(1).max(3650),
  restUrl: z.string().url(),
  pauseMs: int(0).default(150),
}).strict();

/** The schema of each actor's arguments, by actor name (a child id up to its `:`). */
export const ACTOR_ARGS = {
  price_watchdog: PriceWatchdogArgs,
  kalshi_market_watchdog: MarketWatchdogArgs,
  kalshi_account_sync: AccountSyncArgs,
  kalshi_historical_ingest: HistoricalIngestArgs,
  strike_coordinator: StrikeCoordinatorArgs,
  system_monitor: SystemMonitorArgs,
  partition_maintenance: PartitionMaintenanceArgs,
  retention: RetentionArgs,
  backup: BackupArgs,
  history_backfill: HistoryBackfillArgs,
} as const;

/** An actor with a schema of arguments. */
export type ActorName = keyof typeof ACTOR_ARGS;
/** What a child spec's `args` may hold for `A` (defaulted keys optional). */
export type ActorArgsInput<A extends ActorName> = z.input<(typeof ACTOR_ARGS)[A]>;
/** `A`'s arguments after parsing (defaults filled in). */
export type ActorArgs<A extends ActorName> = z.output<(typeof ACTOR_ARGS)[A]>;

/**
 * Parses the `args` `actor` was started with, filling in defaults. Throws a
 * {@linkcode ConfigError} naming the actor and every bad key:
 * `Cannot start backup: invalid args (dir: Invalid input: expected string, received undefined)`.
 */
export function parseActorArgs<A extends ActorName>(actor: A, raw: unknown): ActorArgs<A> {
  const parsed = ACTOR_ARGS[actor].safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join(".") || "args"}: ${i.message}`);
    throw new ConfigError(`Cannot start ${actor}: invalid args (${why.join("; ")})`);
  }
  return parsed.data as ActorArgs<A>;
}
