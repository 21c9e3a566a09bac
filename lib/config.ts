/**
 * Configuration: one zod schema over environment variables and an optional JSON config file
 * (`RECIO_CONFIG_FILE`; environment wins over the file). An invalid value is a start-up error
 * naming the variable and what is expected.
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
import { z } from "zod";
import { cronProblem } from "./cron.ts";
import { databaseUrlProblem } from "./db.ts";
import { embeddedLayout } from "./embedded_db/layout.ts";
import { ConfigError } from "./errors.ts";
import { kalshiWsUrlFor } from "./kalshi/endpoints.ts";

const bool = z.enum(["1", "0", "true", "false", "yes", "no"]).transform((v) =>
  v === "1" || v === "true" || v === "yes"
);
/** A decimal integer as an operator writes one: no hex, exponent, sign tricks or spaces. */
const int = (min: number, max: number) =>
  z.string().trim().regex(/^-?\d{1,16}$/, "a whole number in decimal digits")
    .transform(Number).pipe(z.number().int().min(min).max(max));
/** A decimal number: digits with an optional fraction (no hex, exponent, Infinity or NaN). */
const num = (min: number, max: number) =>
  z.string().trim().regex(/^-?\d{1,16}(\.\d{1,16})?$/, "a decimal number")
    .transform(Number).pipe(z.number().min(min).max(max));
/**
 * A comma-separated list of `item`s. An empty entry (`,`, `BTC,,ETH`) is refused; so is an empty
 * list, unless `none` is allowed, which the word `none` writes.
 */
const listOf = (item: z.ZodType<string>, opts: { none?: boolean } = {}) =>
  z.string().transform((v, ctx) => {
    const text = v.trim();
    if (opts.none && text.toLowerCase() === "none") return [];
    const parts = text.split(",").map((s) => s.trim());
    if (parts.some((p) => p === "")) {
      ctx.addIssue({
        code: "custom",
        message: text === ""
          ? `a list of at least one${opts.none ? ", or none" : ""}`
          : "an empty entry in the list",
      });
      return z.NEVER;
    }
    const out: string[] = [];
    for (const p of parts) {
      const r = item.safeParse(p);
      if (!r.success) {
        ctx.addIssue({ code: "custom", message: r.error.issues[0]?.message ?? "invalid entry" });
        return z.NEVER;
      }
      if (!out.includes(r.data)) out.push(r.data);
    }
    return out;
  });
/** Symbols with a price log (`live_data.<sym>_price_log`), upper case. */
const symbol = z.string().transform((v) => v.toUpperCase()).pipe(
  z.enum(["BTC", "ETH"], { message: "symbols with a price log: BTC, ETH" }),
);
/** A URL of one of `schemes` (`wss:`), with a host. */
const urlOf = (...schemes: string[]) =>
  z.string().trim().refine((v) => {
    try {
      const u = new URL(v);
      return schemes.includes(u.protocol) && u.hostname !== "";
    } catch {
      return false;
    }
  }, `a ${schemes.map((x) => `${x}//`).join(" or ")} URL`);
/** A host name or IP address to bind or be reached at. */
const hostName = z.string().trim().regex(
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$/,
  "a host name or IP address",
);
/** Header-safe secret text: visible ASCII only, so no trimmed or folded header can differ. */
const token = z.string().regex(/^[\x21-\x7E]*$/, "visible ASCII characters, no spaces")
  .min(16, "at least 16 characters");
/** A strictly checked PostgreSQL URL; the message never shows a part of it (`lib/db.ts`). */
const databaseUrl = z.string().superRefine((v, ctx) => {
  const problem = databaseUrlProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
/** A five-field cron expression (UTC), or `off` (the job runs only when started by hand). */
const schedule = z.string().trim().superRefine((v, ctx) => {
  const problem = v === "off" ? undefined : cronProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: `a cron expression or "off" (${problem})` });
}).transform((v) => (v === "off" ? null : v));

/**
 * Every setting: environment variable → [schema, default]. The default is the string an operator
 * would write, so `deploy/recio.env.example` can list the same values.
 */
export const SETTINGS = {
  DATABASE_URL: [databaseUrl.optional(), undefined],
  RECIO_DATA_DIR: [z.string().min(1), "./data"],
  RECIO_PG_DIR: [z.string().min(1).optional(), undefined],
  RECIO_PG_PORT: [int(0, 65535), "0"],
  RECIO_DB_CONNECT_TIMEOUT_MS: [int(0, 3_600_000), "30000"],
  RECIO_DB_POOL_MAX: [int(1, 100), "10"],
  /** Folder of `<user>.password` files, one per user's role (default `<RECIO_PG_DIR>.users`). */
  RECIO_DB_USERS_DIR: [z.string().min(1).optional(), undefined],
  /** Generate a missing `<user>.password` (the heart sets it for its embedded server). */
  RECIO_DB_USERS_GENERATE: [bool, "0"],
  RECIO_NODE: [
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, . _ -, at most 64")
      .optional(),
    undefined,
  ],
  RECIO_HTTP_HOST: [hostName, "127.0.0.1"],
  /** Host names the status API answers to besides the bound address and loopback (`*`: any). */
  RECIO_HTTP_ALLOWED_HOSTS: [listOf(z.union([z.literal("*"), hostName]), { none: true }), "none"],
  RECIO_HTTP_PORT: [int(0, 65535), "7070"],
  /** Whole headers must arrive within this, or the connection is closed (`http_guard.ts`). */
  RECIO_HTTP_HEADER_TIMEOUT_MS: [int(100, 600_000), "10000"],
  /** A connection with nothing moving either way for this long is closed. */
  RECIO_HTTP_IDLE_TIMEOUT_MS: [int(1_000, 3_600_000), "60000"],
  STATUS_TOKEN: [token.optional(), undefined],
  RECIO_LOG_FORMAT: [z.enum(["auto", "json", "text"]), "auto"],
  RECIO_LOG_LEVEL: [z.enum(["trace", "debug", "info", "warning", "error", "fatal"]), "info"],
  RECIO_LOG_FILE: [z.string().min(1).optional(), undefined],
  RECIO_MONITOR_INTERVAL_MS: [int(1000, 3_600_000), "15000"],
  RECIO_STRATEGY: [z.enum(["one_for_one", "one_for_all", "rest_for_one"]), "one_for_one"],
  RECIO_HEART_MAX_RESTARTS: [int(0, 1000), "10"],
  RECIO_HEART_PING_MS: [int(100, 600_000), "5000"],
  RECIO_HEART_HANG_MS: [int(1000, 3_600_000), "30000"],
  RECIO_ZOMBIE_CPU_BOUND_MS: [int(1000, 3_600_000), "10000"],
  RECIO_DEMO: [bool, "0"],
  RECIO_DEMO_CONTROL_URL: [urlOf("http:").optional(), undefined],
  RECIO_SYMBOLS: [listOf(symbol), "BTC,ETH"],
  RECIO_CHILDREN_FILE: [z.string().min(1).optional(), undefined],
  RECIO_COINBASE_FEED: [z.enum(["advanced", "exchange"]), "advanced"],
  RECIO_COINBASE_WS_URL: [urlOf("wss:", "ws:").optional(), undefined],
  RECIO_COINBASE_REST_URL: [urlOf("https:", "http:").optional(), undefined],
  RECIO_PRICE_FRESHNESS_MS: [int(1000, 3_600_000), "30000"],
  RECIO_COORDINATOR_SYMBOLS: [listOf(symbol, { none: true }), "BTC"],
  RECIO_COORDINATOR_MODE: [z.enum(["closed_form", "empirical"]), "closed_form"],
  RECIO_COORDINATOR_CYCLE_MS: [int(100, 60_000), "1000"],
  RECIO_STRIKE_COUNT: [int(1, 200), "21"],
  RECIO_VOL_WINDOW_S: [int(60, 86_400), "1800"],
  RECIO_VOL_FLOOR_ANNUAL: [num(0, 10), "0.2"],
  RECIO_MOMENTUM_DRIFT: [num(-1, 1), "0"],
  RECIO_PRICE_MAX_AGE_MS: [int(1000, 600_000), "10000"],
  RECIO_MARKET_MAX_AGE_MS: [int(1000, 600_000), "15000"],
  RECIO_OUTPUT_DIR: [z.string().min(1).optional(), undefined],
  RECIO_WATCHLIST_MIN_VOLUME: [num(0, 1e12), "1000"],
  RECIO_WATCHLIST_MIN_PROBABILITY: [num(0, 100), "90"],
  RECIO_WATCHLIST_MAX_ASK: [num(0, 100), "98"],
  RECIO_WATCHLIST_MIN_DIFF: [num(-100, 100), "-2.75"],
  RECIO_JOBS_ENABLED: [bool, "1"],
  RECIO_JOB_PARTITIONS: [schedule, "0 3 * * *"],
  RECIO_JOB_RETENTION: [schedule, "30 3 * * *"],
  RECIO_JOB_BACKUP: [schedule, "0 4 * * *"],
  RECIO_JOB_KALSHI_INGEST: [schedule, "15 5 * * *"],
  RECIO_JOB_HISTORY_BACKFILL: [schedule, "45 4 * * *"],
  RECIO_HISTORY_BACKFILL_DAYS: [int(1, 3650), "2"],
  RECIO_PARTITION_MONTHS_AHEAD: [int(1, 120), "3"],
  RECIO_RETENTION_MONTHS: [int(1, 1200), "36"],
  RECIO_BACKUP_DIR: [z.string().min(1), "./archive/backups"],
  RECIO_BACKUP_KEEP_DAILY: [int(1, 366), "7"],
  RECIO_BACKUP_KEEP_WEEKLY: [int(0, 520), "4"],
  RECIO_PG_BIN_DIR: [z.string().min(1).optional(), undefined],
  KALSHI_BASE_URL: [urlOf("https:", "http:"), "https://external-api.kalshi.com/trade-api/v2"],
  /** Unset: derived from KALSHI_BASE_URL's environment (`lib/kalshi/endpoints.ts`). */
  KALSHI_WS_URL: [urlOf("wss:", "ws:").optional(), undefined],
  KALSHI_API_KEY_ID: [z.string().min(1).optional(), undefined],
  KALSHI_PRIVATE_KEY_PATH: [z.string().min(1).optional(), undefined],
  KALSHI_SERIES: [
    listOf(z.string().regex(/^[A-Z][A-Z0-9]{1,29}$/, "series tickers like KXBTCD")),
    "KXBTCD,KXETHD",
  ],
  KALSHI_AUTH_BACKOFF_MS: [int(1000, 3_600_000), "300000"],
  KALSHI_POLL_MS: [int(100, 3_600_000), "1000"],
  KALSHI_USERS: [
    listOf(z.string().regex(/^user_[0-9]{4}$/, "names like user_0001"), { none: true }),
    "user_0001",
  ],
  KALSHI_RATE_READ_PER_S: [num(0.001, 10_000), "20"],
  KALSHI_RATE_WRITE_PER_S: [num(0.001, 10_000), "10"],
  KALSHI_ARCHIVE_DIR: [z.string().min(1).optional(), undefined],
} as const satisfies Record<string, readonly [z.ZodType, string | undefined]>;

type Settings = typeof SETTINGS;
type Raw = { [K in keyof Settings]: z.output<Settings[K][0]> };

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
