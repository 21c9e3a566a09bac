/**
 * Writes `deploy/recio.env.example` from `SETTINGS` in `lib/config.ts`: every setting with its
 * default, so the template can never miss one. `deno run -A deploy/gen_env.ts` rewrites the file;
 * `deploy/gen_env_test.ts` fails when it is out of date.
 *
 * @module
 */
import { SETTINGS } from "../lib/config.ts";

/** What each setting is for (a setting without a line here gets none). */
const NOTES: Record<string, string> = {
  DATABASE_URL: "PostgreSQL to use; unset: an embedded server in RECIO_PG_DIR (secret: password)",
  RECIO_DATA_DIR: "data directory (embedded database, archives, backups)",
  RECIO_PG_DIR: "embedded PostgreSQL data directory (default: $RECIO_DATA_DIR/pg)",
  RECIO_PG_PORT: "embedded PostgreSQL port (0: a free port)",
  RECIO_DB_CONNECT_TIMEOUT_MS: "how long start-up retries an unreachable database",
  RECIO_DB_POOL_MAX: "connections of the supervisor's pool",
  RECIO_DB_USERS_DIR:
    "folder of <user>.password files, the login of each user's role <user>_rw, mode 0600 (default: $RECIO_PG_DIR.users)",
  RECIO_DB_USERS_GENERATE:
    "1: generate a missing <user>.password (the heart sets it for its embedded server); 0: the operator supplies them",
  RECIO_NODE: "node name in events (default: the host name)",
  RECIO_HTTP_HOST: "status server address",
  RECIO_HTTP_HEADER_TIMEOUT_MS: "a request's headers must arrive within this, or it is closed",
  RECIO_HTTP_IDLE_TIMEOUT_MS: "status connections idle this long are closed",
  RECIO_HTTP_ALLOWED_HOSTS:
    "Host names answered besides the address and loopback (reverse proxy; * any; none)",
  RECIO_HTTP_PORT: "status server port",
  STATUS_TOKEN: "bearer token for the control endpoints, at least 16 characters (secret)",
  RECIO_LOG_FORMAT: "auto | json | text",
  RECIO_LOG_LEVEL: "trace | debug | info | warning | error | fatal",
  RECIO_LOG_FILE: "also log JSON lines to this file, rotated by size",
  RECIO_MONITOR_INTERVAL_MS: "system monitor cadence",
  RECIO_STRATEGY: "one_for_one | one_for_all | rest_for_one",
  RECIO_HEART_MAX_RESTARTS: "supervisor restarts within 10 min before the heart gives up",
  RECIO_HEART_PING_MS: "how often the heart pings /healthz",
  RECIO_HEART_HANG_MS: "silence after which the heart kills the supervisor",
  RECIO_ZOMBIE_CPU_BOUND_MS: "how long a zombie worker may burn CPU before the process restarts",
  RECIO_DEMO:
    "set to 1 by `deno task demo` (its own data folder, <RECIO_DATA_DIR>/demo); `deno task start` refuses 1",
  RECIO_SYMBOLS: "price feeds to run (BTC, ETH; at least one)",
  RECIO_CHILDREN_FILE: "a JSON child list replacing the default tree",
  KALSHI_BASE_URL: "Kalshi REST base (production, demo, or a local fake)",
  KALSHI_WS_URL:
    "Kalshi WebSocket URL (unset: KALSHI_BASE_URL's environment: production, demo, or that host)",
  KALSHI_API_KEY_ID: "Kalshi API key id (unset: the account sync reports it and waits)",
  KALSHI_PRIVATE_KEY_PATH: "file with the Kalshi RSA private key, PKCS#1 or PKCS#8 PEM (secret)",
  KALSHI_SERIES: "hourly series to follow",
  KALSHI_POLL_MS: "market poll interval",
  KALSHI_AUTH_BACKOFF_MS: "first wait after Kalshi refuses the key (doubles up to 30 min)",
  KALSHI_USERS: "users whose accounts are synced (one schema each; none for no account)",
  KALSHI_RATE_READ_PER_S: "read requests per second (Basic tier: 20)",
  KALSHI_RATE_WRITE_PER_S: "write requests per second (Basic tier: 10)",
  KALSHI_ARCHIVE_DIR: "optional gzip JSON snapshots of the markets, for cold storage",
  RECIO_COINBASE_FEED: "advanced (Advanced Trade WebSocket) | exchange (Exchange feed)",
  RECIO_COINBASE_WS_URL: "price feed WebSocket URL (default: Coinbase's for the feed)",
  RECIO_COINBASE_REST_URL: "candles REST base URL (default: Coinbase Exchange)",
  RECIO_PRICE_FRESHNESS_MS: "a price feed whose newest row is older than this is restarted",
  RECIO_COORDINATOR_SYMBOLS: "strike tables to build (of RECIO_SYMBOLS; none for none)",
  RECIO_COORDINATOR_MODE: "closed_form (lognormal, realized volatility) | empirical (lookup table)",
  RECIO_COORDINATOR_CYCLE_MS: "strike table cadence",
  RECIO_STRIKE_COUNT: "strikes nearest the price in each table",
  RECIO_VOL_WINDOW_S: "window of the realized volatility",
  RECIO_VOL_FLOOR_ANNUAL: "lowest volatility the closed form uses (annualised)",
  RECIO_MOMENTUM_DRIFT: "drift coefficient on momentum (0: driftless)",
  RECIO_PRICE_MAX_AGE_MS: "older price: the table is stale",
  RECIO_MARKET_MAX_AGE_MS: "older market snapshot: the table is stale",
  RECIO_OUTPUT_DIR: "strike table JSON files (default: $RECIO_DATA_DIR/output)",
  RECIO_WATCHLIST_MIN_VOLUME: "watchlist: minimum volume",
  RECIO_WATCHLIST_MIN_PROBABILITY: "watchlist: minimum probability (percent)",
  RECIO_WATCHLIST_MAX_ASK: "watchlist: highest ask (cents)",
  RECIO_WATCHLIST_MIN_DIFF: "watchlist: minimum edge of either side (percentage points)",
  RECIO_JOBS_ENABLED: "register the job schedules",
  RECIO_JOB_PARTITIONS: "partition maintenance schedule (cron, UTC; off: by hand only)",
  RECIO_JOB_RETENTION: "retention schedule (cron, UTC)",
  RECIO_JOB_BACKUP: "backup schedule (cron, UTC)",
  RECIO_JOB_KALSHI_INGEST:
    "Kalshi historical ingest schedule, one job per KALSHI_USERS entry (cron, UTC; needs the key)",
  RECIO_JOB_HISTORY_BACKFILL: "1-minute candle backfill schedule (cron, UTC)",
  RECIO_HISTORY_BACKFILL_DAYS: "days of 1-minute candles the backfill keeps complete per symbol",
  RECIO_PARTITION_MONTHS_AHEAD: "monthly partitions created ahead",
  RECIO_RETENTION_MONTHS: "months of partitions kept (whole partitions are dropped)",
  RECIO_BACKUP_DIR: "backup folder",
  RECIO_BACKUP_KEEP_DAILY: "daily backups kept",
  RECIO_BACKUP_KEEP_WEEKLY: "weekly backups kept",
  RECIO_PG_BIN_DIR: "folder with pg_dump/pg_restore to try first",
};

/** The file's text. */
export function renderEnvExample(): string {
  const lines = [
    "# rec.io runtime settings, generated from SETTINGS in lib/config.ts by deploy/gen_env.ts.",
    "# Every setting with its default; a commented-out line keeps the default.",
    "# Secrets (DATABASE_URL's password, STATUS_TOKEN, Kalshi keys) belong in a file readable",
    "# only by the service (systemd: EnvironmentFile= with mode 0600), never in the repo.",
    "",
  ];
  for (const [name, [, fallback]] of Object.entries(SETTINGS)) {
    const note = NOTES[name];
    if (note) lines.push(`# ${note}`);
    lines.push(`#${name}=${fallback ?? ""}`);
  }
  return lines.join("\n") + "\n";
}

/** Where the file lives. */
export const ENV_EXAMPLE = new URL("./recio.env.example", import.meta.url);

if (import.meta.main) {
  await Deno.writeTextFile(ENV_EXAMPLE, renderEnvExample());
  console.log(`Wrote ${ENV_EXAMPLE.pathname.split("/").slice(-2).join("/")}`);
}
