/**
 * PostgreSQL access through postgres.js: one way to open a pool, bounded retry at start-up, and a
 * description of the target that never includes the password.
 *
 * A multi-host URL (`postgres://h1:5432,h2:5433/db?target_session_attrs=primary`) rides through
 * a database failover: its pools connect through `db_hosts.ts`, which picks the hosts, bounds a
 * connection attempt by `connectTimeout` when no host is usable, and ends a session that turned
 * read-only, so that after the primary is replaced every pool reconnects to the new one (what
 * postgres.js does alone, and why that is not enough, is written there).
 *
 * @example
 * ```ts
 * import { connectWithRetry } from "./db.ts";
 * const sql = await connectWithRetry("postgres://postgres@127.0.0.1:5432/postgres", { timeoutMs: 5000 });
 * await sql.end();
 * ```
 *
 * @module
 */
import net from "node:net";
import postgres from "postgres";
import { backoffDelay } from "./backoff.ts";
import { arrayTypes, type Serialize } from "./db_arrays.ts";
import { hostSocket } from "./db_hosts.ts";
import { DatabaseError, DatabaseRefusedError } from "./errors.ts";
import { formatHostPort } from "./host_port.ts";
import { sleep } from "./sleep.ts";

/** A postgres.js pool. */
export type Sql = postgres.Sql<Record<string, never>>;
/** A postgres.js transaction handle. */
export type TransactionSql = postgres.TransactionSql<Record<string, never>>;

/**
 * Environment variables postgres.js reads when it opens a pool (`PG*` defaults and the OS user
 * name). A worker with database access needs `env` permission for these and nothing more.
 */
export const POSTGRES_ENV: readonly string[] = [
  "PGHOST",
  "PGPORT",
  "PGUSERNAME",
  "PGUSER",
  "PGDATABASE",
  "PGPASSWORD",
  "PGAPPNAME",
  "PGTARGETSESSIONATTRS",
  "PGMAX",
  "PGSSL",
  "PGSSLNEGOTIATION",
  "PGIDLE_TIMEOUT",
  "PGCONNECT_TIMEOUT",
  "PGMAX_LIFETIME",
  "PGMAX_PIPELINE",
  "PGBACKOFF",
  "PGKEEP_ALIVE",
  "PGPREPARE",
  "PGDEBUG",
  "PGFETCH_TYPES",
  "PGPUBLICATIONS",
  "PGTARGET_SESSION_ATTRS",
  "USERNAME",
  "USER",
  "LOGNAME",
];

/** The parts of a PostgreSQL connection URL that are safe to show: never the user or password. */
export interface DatabaseTarget {
  /** One or more `host:port` (a multi-host URL lists several, in order). */
  hosts: { host: string; port: number }[];
  database: string;
}

/**
 * The `target_session_attrs` postgres.js knows. A multi-host URL of this runtime wants `primary`
 * (it writes); `read-write` works too, but `primary` is the one checked by the server's own
 * `in_hot_standby` rather than by a setting.
 */
export const SESSION_ATTRS: readonly string[] = [
  "primary",
  "read-write",
  "standby",
  "read-only",
  "prefer-standby",
];

const URL_SHAPE = /^(postgres(?:ql)?):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)$/;

/**
 * Parses a PostgreSQL connection URL strictly: `postgres://` or `postgresql://`, an optional
 * `user[:password]@`, one or more `host[:port]` separated by commas, an optional `/database` and
 * query. Throws a message that shows no part of the URL after its scheme, since any part of a
 * malformed URL may be its password.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const m = URL_SHAPE.exec(url);
  // Only a postgres scheme is shown: what stands before a `:` may as well be a user name.
  const scheme = /^postgres(?:ql)?:/i.exec(url)?.[0];
  const fail = (why: string): never => {
    throw new DatabaseError(
      `Invalid DATABASE_URL${scheme ? ` (${scheme}…)` : ""}: ${why}; expected ` +
        "postgres://user:password@host:port/database",
    );
  };
  if (!m) {
    if (!scheme) fail("the scheme is not postgres://");
    if (!/^[a-z]+:\/\//i.test(url)) fail("the scheme must be followed by //");
    fail("it is not a URL");
  }
  const [, , , hostPart = "", path = "", query = ""] = m!;
  if (hostPart === "") fail("no host");
  const hosts = hostPart.split(",").map((h) => {
    const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(h);
    const host = hp?.[1] ?? "";
    const port = hp?.[2] === undefined ? 5432 : Number(hp[2]);
    if (!hp || !HOST.test(host)) fail("a host name is invalid");
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail("a port is not 1-65535");
    return { host, port };
  });
  let database: string;
  try {
    database = decodeURIComponent(path.replace(/^\//, ""));
  } catch {
    return fail("the database name is not valid percent-encoding");
  }
  if (/[\s]/.test(query)) fail("the query contains spaces");
  const tsa = new URLSearchParams(query).getAll("target_session_attrs");
  if (tsa.length > 1 || tsa.some((v) => !SESSION_ATTRS.includes(v))) {
    fail(`target_session_attrs must be one of ${SESSION_ATTRS.join(", ")}, once`);
  }
  return { hosts, database };
}

/** Why `url` is not a usable PostgreSQL connection URL (with none of its parts), or undefined. */
export function databaseUrlProblem(url: string): string | undefined {
  try {
    parseDatabaseUrl(url);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** `host:port` of every host of a connection URL, for a worker's `net` permission. */
export function databaseHostPorts(url: string): string[] {
  return parseDatabaseUrl(url).hosts.map((h) => formatHostPort(h.host, h.port));
}

/** `host:port/database` of a connection URL, never the user or password. */
export function describeTarget(url: string): string {
  try {
    const t = parseDatabaseUrl(url);
    return `${t.hosts.map((h) => `${h.host}:${h.port}`).join(",")}/${t.database}`;
  } catch {
    return "an invalid DATABASE_URL";
  }
}

export interface SqlOptions {
  /** Pool size. */
  max?: number;
  /** Application name shown in pg_stat_activity. */
  applicationName?: string;
  /** Seconds before a connection attempt fails. */
  connectTimeout?: number;
  /**
   * Set TCP_NODELAY on every connection (postgres.js leaves Nagle's algorithm on). Needed where a
   * client sends one message in several writes, as COPY FROM STDIN does: without it, the closing
   * CopyDone waits for the server's delayed ACK (about 40-90 ms on Linux).
   */
  noDelay?: boolean;
}

/**
 * A postgres.js `socket` factory that connects like postgres.js itself would (TCP host/port or a
 * unix `path`) with TCP_NODELAY set. postgres.js starts the protocol on a custom socket at once,
 * so the socket is returned while it connects: node's net.Socket queues writes until connected,
 * a refused or failed connect surfaces as the socket's `error`, and postgres.js's own
 * connect_timeout still applies (it runs until the server's first ReadyForQuery).
 */
function noDelaySocket(o: { host: string[]; port: number[]; path?: string | false }): net.Socket {
  if (o.path) return net.connect({ path: o.path });
  const socket = net.connect({ host: o.host[0]!, port: o.port[0] ?? 5432 });
  socket.setNoDelay(true);
  return socket;
}

/** The hosts of a multi-host URL; empty for one host (or a URL postgres.js is left to refuse). */
function multiHosts(url: string): DatabaseTarget["hosts"] {
  try {
    const { hosts } = parseDatabaseUrl(url);
    return hosts.length > 1
      ? hosts.map((h) => ({ ...h, host: h.host.replace(/^\[|\]$/g, "") }))
      : [];
  } catch {
    return [];
  }
}

/**
 * Opens a pool (lazily: nothing connects until the first query). A multi-host URL gets a socket
 * of `db_hosts.ts` per pool (see the module documentation).
 */
export function createSql(url: string, options: SqlOptions = {}): Sql {
  const connectTimeout = options.connectTimeout ?? 5;
  const hosts = multiHosts(url);
  const socket = hosts.length > 0
    ? hostSocket({ hosts, noDelay: options.noDelay, connectTimeoutMs: connectTimeout * 1000 })
    : options.noDelay
    ? noDelaySocket
    : undefined;
  const sql: Sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: connectTimeout,
    idle_timeout: 60,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? "recio" },
    // Timestamps come back as Date; numerics as strings (no float rounding on the way). Array
    // parameters are right from the first statement on (db_arrays.ts).
    types: arrayTypes(() =>
      (sql as unknown as { options: { serializers: Record<number, Serialize> } }).options
        .serializers
    ),
    ...(socket ? { socket } : {}),
  }) as unknown as Sql;
  return sql;
}

export interface RetryOptions extends SqlOptions {
  /** Give up after this many milliseconds in all. */
  timeoutMs: number;
  /** Called before each wait, for logging. */
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

/**
 * Opens a pool and waits until `SELECT 1` answers, retrying with capped exponential backoff for at
 * most `timeoutMs`. Fails with a {@linkcode DatabaseError} naming host and port (never the
 * password).
 */
export async function connectWithRetry(url: string, options: RetryOptions): Promise<Sql> {
  const deadline = performance.now() + options.timeoutMs;
  let attempt = 0;
  for (;;) {
    attempt++;
    const sql = createSql(url, options);
    try {
      await sql`select 1`;
      return sql;
    } catch (error) {
      await sql.end({ timeout: 0 }).catch(() => {});
      const left = deadline - performance.now();
      if (isPermanent(error)) {
        const why = error instanceof Error ? reason(error) : String(error);
        throw new DatabaseRefusedError(
          `Cannot connect to PostgreSQL at ${describeTarget(url)}: ${why}; check the user, ` +
            "password and database name of DATABASE_URL (waiting will not fix this)",
        );
      }
      if (left <= 0) {
        const why = error instanceof Error ? reason(error) : String(error);
        throw new DatabaseError(
          `Cannot connect to PostgreSQL at ${
            describeTarget(url)
          } after ${attempt} attempt(s): ${why}`,
        );
      }
      const wait = Math.min(backoffDelay(attempt, { baseMs: 100, maxMs: 5_000 }), left);
      options.onRetry?.(attempt, wait, error);
      await sleep(wait);
    }
  }
}

/** Authentication failures and missing databases do not fix themselves by waiting. */
function isPermanent(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "28P01" || code === "28000" || code === "3D000";
}

/** The error's message with anything that looks like a connection string removed. */
function reason(error: Error): string {
  const code = (error as { code?: string }).code;
  const text = error.message.replace(/postgres(ql)?:\/\/\S+/gi, "<url>");
  return code ? `${text} (${code})` : text;
}
