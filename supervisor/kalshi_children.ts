/**
 * Child specs of the Kalshi actors: the market watchdog, one account sync per user, and the
 * historical ingest job. Network only to the Kalshi hosts (the supervisor adds the database);
 * the private key's path goes in args and is the only file a worker may read, never the key.
 * A user's account sync and ingest connect as that user's own role (`database: { user }`), never
 * with the supervisor's connection.
 *
 * @module
 */
import type { ActorArgsInput } from "../schema/actor_args.ts";
import type { ChildSpecInput } from "./child_spec.ts";
import { databaseHostPorts } from "../lib/db.ts";
import { hostPort } from "../lib/host_port.ts";

/** Settings the spec is built from (the `kalshi` section of the config, plus the database). */
export interface MarketWatchdogSpecConfig {
  baseUrl: string;
  series: string[];
  pollMs: number;
  readPerSecond: number;
  archiveDir?: string | undefined;
  /** Its host(s) join the worker's `net` permission. */
  databaseUrl?: string | undefined;
}

/** The `kalshi_market_watchdog` child spec. */
export function kalshiMarketWatchdogSpec(config: MarketWatchdogSpecConfig): ChildSpecInput {
  const net = [hostPort(config.baseUrl)];
  if (config.databaseUrl) net.push(...databaseHostPorts(config.databaseUrl));
  const args: ActorArgsInput<"kalshi_market_watchdog"> = {
    baseUrl: config.baseUrl,
    series: config.series,
    pollMs: config.pollMs,
    readPerSecond: config.readPerSecond,
  };
  if (config.archiveDir) args.archiveDir = config.archiveDir;
  return {
    id: "kalshi_market_watchdog",
    module: new URL("../actors/kalshi_market_watchdog/worker.ts", import.meta.url).href,
    args,
    restart: "permanent",
    heartbeatMs: 1_000,
    hangAfterMs: 15_000,
    // Stale after 30 polls (or 60 s) without a written snapshot.
    freshness: Math.max(60_000, config.pollMs * 30),
    freshnessGraceMs: 60_000,
    shutdownMs: 5_000,
    critical: false,
    singleton: "cold",
    permissions: {
      net: [...new Set(net)],
      read: config.archiveDir ? [config.archiveDir] : false,
      write: config.archiveDir ? [config.archiveDir] : false,
      env: false,
      run: false,
    },
  };
}

/** Settings the specs are built from (the `kalshi` section of the config, plus the database). */
export interface AccountSyncSpecConfig {
  baseUrl: string;
  wsUrl: string;
  users: string[];
  apiKeyId?: string | undefined;
  privateKeyPath?: string | undefined;
  readPerSecond: number;
  writePerSecond: number;
  /** Sync timer while the socket is down. */
  pollMs?: number;
  /** Its host(s) join the worker's `net` permission. */
  databaseUrl?: string | undefined;
  /** First wait after Kalshi refuses the key (doubles up to 30 min). */
  authBackoffMs?: number;
}

/** One `kalshi_account_sync:<user>` child spec per user. */
export function kalshiAccountSyncSpecs(config: AccountSyncSpecConfig): ChildSpecInput[] {
  const credentials = config.apiKeyId && config.privateKeyPath
    ? { keyId: config.apiKeyId, keyPath: config.privateKeyPath }
    : {};
  const net = [hostPort(config.baseUrl), hostPort(config.wsUrl)];
  if (config.databaseUrl) net.push(...databaseHostPorts(config.databaseUrl));
  return config.users.map((user) => ({
    id: `kalshi_account_sync:${user}`,
    module: new URL("../actors/kalshi_account_sync/worker.ts", import.meta.url).href,
    args: {
      user,
      baseUrl: config.baseUrl,
      wsUrl: config.wsUrl,
      readPerSecond: config.readPerSecond,
      writePerSecond: config.writePerSecond,
      ...(config.pollMs !== undefined ? { pollMs: config.pollMs } : {}),
      ...(config.authBackoffMs !== undefined ? { authBackoffMs: config.authBackoffMs } : {}),
      ...credentials,
    } satisfies ActorArgsInput<"kalshi_account_sync">,
    restart: "permanent",
    heartbeatMs: 1_000,
    hangAfterMs: 15_000,
    // No freshness rule: an account with nothing new is not stale, and a refused key is reported
    // as degraded rather than fixed by restarts.
    freshness: null,
    shutdownMs: 5_000,
    critical: false,
    singleton: "cold",
    database: { user },
    permissions: {
      net: [...new Set(net)],
      read: config.privateKeyPath && config.apiKeyId ? [config.privateKeyPath] : false,
      write: false,
      env: false,
      run: false,
    },
  }));
}

/** Settings the spec is built from. */
export interface HistoricalIngestSpecConfig {
  baseUrl: string;
  user: string;
  apiKeyId: string;
  privateKeyPath: string;
  since?: string | undefined;
  readPerSecond: number;
  databaseUrl?: string | undefined;
}

/** The `kalshi_historical_ingest:<user>` child spec. */
export function kalshiHistoricalIngestSpec(config: HistoricalIngestSpecConfig): ChildSpecInput {
  const net = [hostPort(config.baseUrl)];
  if (config.databaseUrl) net.push(...databaseHostPorts(config.databaseUrl));
  return {
    id: `kalshi_historical_ingest:${config.user}`,
    module: new URL("../actors/jobs/kalshi_historical_ingest/worker.ts", import.meta.url).href,
    args: {
      user: config.user,
      baseUrl: config.baseUrl,
      keyId: config.apiKeyId,
      keyPath: config.privateKeyPath,
      readPerSecond: config.readPerSecond,
      ...(config.since ? { since: config.since } : {}),
    } satisfies ActorArgsInput<"kalshi_historical_ingest">,
    // A scheduled job: started by its schedule (or by hand), finishes, is not restarted then.
    restart: "transient",
    autostart: false,
    heartbeatMs: 1_000,
    hangAfterMs: 60_000,
    freshness: null,
    shutdownMs: 10_000,
    critical: false,
    database: { user: config.user },
    permissions: {
      net: [...new Set(net)],
      read: [config.privateKeyPath],
      write: false,
      env: false,
      run: false,
    },
  };
}
