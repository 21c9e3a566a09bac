/**
 * Configuration: one zod schema over environment variables and an optional JSON config file
 * (`RECIO_CONFIG_FILE`; environment wins over the file). An invalid value is a start-up error
 * naming the variable and what is expected. The settings table (each variable's schema and
 * default) is `lib/config_settings.ts`; this module reads and shapes it into a {@linkcode Config}.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./config.ts";
 * const config = loadConfig({ RECIO_HTTP_PORT: "8099" });
 * console.log(config.http.port); // 8099
 * ```
 *
 * @module
 */
import type { z } from "zod";
import { SETTINGS, type SettingValues } from "./config_settings.ts";
import { embeddedLayout } from "./embedded_db/layout.ts";
import { ConfigError } from "./errors.ts";
import { kalshiWsUrlFor } from "./kalshi/endpoints.ts";

/** The settings table, also from here (`deploy/gen_env.ts` lists it). */
export { SETTINGS };

type Raw = SettingValues;

/** The validated configuration the runtime uses. */
export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  pgDir: string;
  pgPort: number;
  dbConnectTimeoutMs: number;
  dbPoolMax: number;
  /**
   * The per-user database logins (`lib/db_users.ts`): where their passwords are kept, and whether
   * a missing one is generated (the embedded server) or must be supplied (an external database).
   */
  dbUsers: { dir: string; generate: boolean };
  node: string;
  http: {
    host: string;
    port: number;
    token: string | undefined;
    allowedHosts: string[];
    headerTimeoutMs: number;
    idleTimeoutMs: number;
  };
  log: {
    format: "auto" | "json" | "text";
    level: Raw["RECIO_LOG_LEVEL"];
    file: string | undefined;
  };
  monitorIntervalMs: number;
  strategy: Raw["RECIO_STRATEGY"];
  heart: { maxRestarts: number; pingMs: number; hangMs: number };
  zombieCpuBoundMs: number;
  demo: boolean;
  /** The simulated venues' drill endpoint (set by demo mode). */
  demoControlUrl: string | undefined;
  symbols: string[];
  /** A JSON child list that replaces the default tree. */
  childrenFile: string | undefined;
  /** Kalshi: endpoints, credentials (the key id and the key file's path, never the key). */
  kalshi: {
    baseUrl: string;
    wsUrl: string;
    apiKeyId: string | undefined;
    privateKeyPath: string | undefined;
    series: string[];
    pollMs: number;
    /** First wait after a refused key. */
    authBackoffMs: number;
    users: string[];
    readPerSecond: number;
    writePerSecond: number;
    archiveDir: string | undefined;
  };
  coinbase: {
    feed: "advanced" | "exchange";
    wsUrl: string | undefined;
    restUrl: string | undefined;
    freshnessMs: number;
  };
  coordinator: {
    symbols: string[];
    mode: "closed_form" | "empirical";
    cycleMs: number;
    strikeCount: number;
    volWindowS: number;
    volFloorAnnual: number;
    momentumDrift: number;
    priceMaxAgeMs: number;
    marketMaxAgeMs: number;
    outputDir: string;
    watchlist: { minVolume: number; minProbability: number; maxAsk: number; minDiff: number };
  };
  /** Scheduled jobs: cron schedules (UTC; null = only by hand) and their settings. */
  jobs: {
    /** Register the schedules with `Deno.cron` (off: jobs run only when started by hand). */
    enabled: boolean;
    schedules: {
      partition_maintenance: string | null;
      retention: string | null;
      backup: string | null;
      /** One `kalshi_historical_ingest:<user>` per user, when Kalshi credentials are set. */
      kalshi_historical_ingest: string | null;
      history_backfill: string | null;
    };
    monthsAhead: number;
    retentionMonths: number;
    /** Days of 1-minute candles `history_backfill` keeps complete. */
    historyBackfillDays: number;
  };
  backup: {
    dir: string;
    keepDaily: number;
    keepWeekly: number;
    /** A folder with `pg_dump`/`pg_restore` to try first. */
    pgBinDir: string | undefined;
  };
}

/** The WebSocket of KALSHI_BASE_URL's environment, or a ConfigError naming what to set. */
function kalshiWsUrl(baseUrl: string): string {
  try {
    return kalshiWsUrlFor(baseUrl);
  } catch (e) {
    throw new ConfigError(`Invalid configuration: KALSHI_BASE_URL: ${(e as Error).message}`);
  }
}

function readFileSettings(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (cause) {
    throw new ConfigError(`Cannot read RECIO_CONFIG_FILE "${path}": file not readable`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`Cannot read RECIO_CONFIG_FILE "${path}": not valid JSON`, { cause });
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`Cannot read RECIO_CONFIG_FILE "${path}": expected a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Validates the environment (and the optional config file it names) into a {@linkcode Config}.
 * Throws {@linkcode ConfigError} naming every invalid variable; values are never echoed, since
 * some are secrets.
 */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const file = env.RECIO_CONFIG_FILE ? readFileSettings(env.RECIO_CONFIG_FILE) : {};
  for (const key of Object.keys(file)) {
    if (!(key in SETTINGS)) {
      throw new ConfigError(`Cannot read RECIO_CONFIG_FILE: unknown setting "${key}"`);
    }
  }
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, [schema, fallback]] of Object.entries(SETTINGS)) {
    const fromEnv = env[name];
    const fromFile = file[name];
    // An empty variable is unset, except where that would silently mean the default: a
    // setting with a default must be unset, not empty, to take it.
    if (fromEnv === "" && fallback !== undefined) {
      problems.push(`${name}: empty; unset it for the default (${fallback})`);
      continue;
    }
    const value = fromEnv !== undefined && fromEnv !== ""
      ? fromEnv
      : fromFile !== undefined
      ? String(fromFile)
      : fallback;
    const result = (schema as z.ZodType).safeParse(value);
    if (result.success) raw[name] = result.data;
    else {
      const why = result.error.issues.map((i) => i.message).join("; ");
      problems.push(`${name}: ${why}`);
    }
  }
  const r = raw as Raw;
  const unfed = (r.RECIO_COORDINATOR_SYMBOLS ?? []).filter((x) => !r.RECIO_SYMBOLS?.includes(x));
  if (problems.length === 0 && unfed.length > 0) {
    problems.push(
      `RECIO_COORDINATOR_SYMBOLS: ${unfed.join(", ")} not in RECIO_SYMBOLS (no price feed)`,
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration: ${problems.join(", ")}`);
  }
  const dataDir = r.RECIO_DATA_DIR;
  const pgDir = r.RECIO_PG_DIR ?? `${dataDir}/pg`;
  return {
    databaseUrl: r.DATABASE_URL,
    dataDir,
    pgDir,
    pgPort: r.RECIO_PG_PORT,
    dbConnectTimeoutMs: r.RECIO_DB_CONNECT_TIMEOUT_MS,
    dbPoolMax: r.RECIO_DB_POOL_MAX,
    dbUsers: {
      dir: r.RECIO_DB_USERS_DIR ?? embeddedLayout(pgDir).users,
      generate: r.RECIO_DB_USERS_GENERATE,
    },
    node: r.RECIO_NODE ?? Deno.hostname(),
    http: {
      host: r.RECIO_HTTP_HOST,
      port: r.RECIO_HTTP_PORT,
      token: r.STATUS_TOKEN,
      allowedHosts: r.RECIO_HTTP_ALLOWED_HOSTS,
      headerTimeoutMs: r.RECIO_HTTP_HEADER_TIMEOUT_MS,
      idleTimeoutMs: r.RECIO_HTTP_IDLE_TIMEOUT_MS,
    },
    log: { format: r.RECIO_LOG_FORMAT, level: r.RECIO_LOG_LEVEL, file: r.RECIO_LOG_FILE },
    monitorIntervalMs: r.RECIO_MONITOR_INTERVAL_MS,
    strategy: r.RECIO_STRATEGY,
    heart: {
      maxRestarts: r.RECIO_HEART_MAX_RESTARTS,
      pingMs: r.RECIO_HEART_PING_MS,
      hangMs: r.RECIO_HEART_HANG_MS,
    },
    zombieCpuBoundMs: r.RECIO_ZOMBIE_CPU_BOUND_MS,
    demo: r.RECIO_DEMO,
    demoControlUrl: r.RECIO_DEMO_CONTROL_URL,
    symbols: r.RECIO_SYMBOLS,
    childrenFile: r.RECIO_CHILDREN_FILE,
    kalshi: {
      baseUrl: r.KALSHI_BASE_URL,
      wsUrl: r.KALSHI_WS_URL ?? kalshiWsUrl(r.KALSHI_BASE_URL),
      apiKeyId: r.KALSHI_API_KEY_ID,
      privateKeyPath: r.KALSHI_PRIVATE_KEY_PATH,
      series: r.KALSHI_SERIES,
      pollMs: r.KALSHI_POLL_MS,
      authBackoffMs: r.KALSHI_AUTH_BACKOFF_MS,
      users: r.KALSHI_USERS,
      readPerSecond: r.KALSHI_RATE_READ_PER_S,
      writePerSecond: r.KALSHI_RATE_WRITE_PER_S,
      archiveDir: r.KALSHI_ARCHIVE_DIR,
    },
    coinbase: {
      feed: r.RECIO_COINBASE_FEED,
      wsUrl: r.RECIO_COINBASE_WS_URL,
      restUrl: r.RECIO_COINBASE_REST_URL,
      freshnessMs: r.RECIO_PRICE_FRESHNESS_MS,
    },
    coordinator: {
      symbols: r.RECIO_COORDINATOR_SYMBOLS,
      mode: r.RECIO_COORDINATOR_MODE,
      cycleMs: r.RECIO_COORDINATOR_CYCLE_MS,
      strikeCount: r.RECIO_STRIKE_COUNT,
      volWindowS: r.RECIO_VOL_WINDOW_S,
      volFloorAnnual: r.RECIO_VOL_FLOOR_ANNUAL,
      momentumDrift: r.RECIO_MOMENTUM_DRIFT,
      priceMaxAgeMs: r.RECIO_PRICE_MAX_AGE_MS,
      marketMaxAgeMs: r.RECIO_MARKET_MAX_AGE_MS,
      outputDir: r.RECIO_OUTPUT_DIR ?? `${dataDir}/output`,
      watchlist: {
        minVolume: r.RECIO_WATCHLIST_MIN_VOLUME,
        minProbability: r.RECIO_WATCHLIST_MIN_PROBABILITY,
        maxAsk: r.RECIO_WATCHLIST_MAX_ASK,
        minDiff: r.RECIO_WATCHLIST_MIN_DIFF,
      },
    },
    jobs: {
      enabled: r.RECIO_JOBS_ENABLED,
      schedules: {
        partition_maintenance: r.RECIO_JOB_PARTITIONS,
        retention: r.RECIO_JOB_RETENTION,
        backup: r.RECIO_JOB_BACKUP,
        kalshi_historical_ingest: r.RECIO_JOB_KALSHI_INGEST,
        history_backfill: r.RECIO_JOB_HISTORY_BACKFILL,
      },
      monthsAhead: r.RECIO_PARTITION_MONTHS_AHEAD,
      retentionMonths: r.RECIO_RETENTION_MONTHS,
      historyBackfillDays: r.RECIO_HISTORY_BACKFILL_DAYS,
    },
    backup: {
      dir: r.RECIO_BACKUP_DIR,
      keepDaily: r.RECIO_BACKUP_KEEP_DAILY,
      keepWeekly: r.RECIO_BACKUP_KEEP_WEEKLY,
      pgBinDir: r.RECIO_PG_BIN_DIR,
    },
  };
}
