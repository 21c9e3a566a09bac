/**
 * The settings table: every environment variable the runtime reads, with its schema and its
 * default, and the value schemas they share (decimal integers and numbers, lists, URLs of given
 * schemes, host names, tokens, database URLs, cron schedules). `lib/config.ts` validates the
 * environment with it and shapes the result into a `Config`; `deploy/gen_env.ts` lists it.
 *
 * @example
 * ```ts
 * import { SETTINGS } from "./config_settings.ts";
 * const [schema, fallback] = SETTINGS.RECIO_HTTP_PORT;
 * console.log(schema.parse(fallback)); // 7070
 * ```
 *
 * @module
 */
import { z } from "zod";
import { cronProblem } from "./cron.ts";
import { databaseUrlProblem } from "./db.ts";

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
/** Each setting's validated value, by variable name. */
export type SettingValues = { [K in keyof Settings]: z.output<Settings[K][0]> };
