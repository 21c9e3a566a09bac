/**
 * Names, roles and connection URLs of per-user database logins (see `db_users.ts`). The URLs
 * built here carry a password: never log one (`describeTarget` shows one without credentials).
 *
 * @example
 * ```ts ignore
 * userRole("user_0001"); // "user_0001_rw"
 * userDatabaseUrl(baseUrl, { user: "user_0001", password, database: "recio" });
 * ```
 *
 * @module
 */
import { parseDatabaseUrl, POSTGRES_ENV } from "./db.ts";
import { ConfigError } from "./errors.ts";

/** Names of users (and of their schemas). */
export const USER_NAME = /^user_[0-9]{4}$/;

/** Connection URL query parameters a user's URL keeps (TLS and failover; no credentials). */
const KEPT_QUERY = new Set(["sslmode", "ssl", "sslnegotiation", "target_session_attrs"]);

/**
 * The `PG*` variables a worker connecting with one of these URLs needs: with the user, password,
 * host, port and database in the URL, postgres.js reads none of the identity variables, and the
 * worker may not read them either (they may hold the supervisor's own credentials).
 */
export const USER_POSTGRES_ENV: readonly string[] = POSTGRES_ENV.filter((name) =>
  ![
    "PGHOST",
    "PGPORT",
    "PGUSERNAME",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "USERNAME",
    "USER",
    "LOGNAME",
  ].includes(name)
);

/** Refuses a user name that is not like `user_0001`. */
export function checkUser(user: string): void {
  if (!USER_NAME.test(user)) {
    throw new ConfigError(`Cannot use user "${user}": expected a name like user_0001`);
  }
}

/** The database role of `user`. */
export function userRole(user: string): string {
  checkUser(user);
  return `${user}_rw`;
}

/**
 * The connection URL of `user`'s role: the hosts (and ports) of `baseUrl`, the given database,
 * TLS and failover parameters of `baseUrl`'s query, and nothing else of it.
 */
export function userDatabaseUrl(
  baseUrl: string,
  login: { user: string; password: string; database: string },
): string {
  const target = parseDatabaseUrl(baseUrl);
  const hosts = target.hosts.map((h) => `${h.host}:${h.port}`).join(",");
  const query = new URLSearchParams(
    baseUrl.includes("?") ? baseUrl.slice(baseUrl.indexOf("?")) : "",
  );
  const kept = new URLSearchParams();
  for (const [k, v] of query) if (KEPT_QUERY.has(k)) kept.append(k, v);
  const q = kept.size > 0 ? `?${kept}` : "";
  return `postgres://${userRole(login.user)}:${encodeURIComponent(login.password)}@${hosts}/${
    encodeURIComponent(login.database)
  }${q}`;
}
