/**
 * Per-user database logins. Each user's account sync and historical ingest connect as the user's
 * own role `<user>_rw`, which may use only its own schema (and record its own ingest runs): a
 * worker never sees the supervisor's connection URL, so a compromised one cannot read another
 * user's account or undo a `SET ROLE`.
 *
 * At start, after migrations, {@linkcode provisionUserLogins} makes sure of, for every user: its
 * schema and role (`system.create_user_schema`); a password in `<dir>/<user>.password`, a file
 * only the service's OS user may read (generated on first start when `generate` is set: the heart
 * sets it for its embedded server; otherwise the operator supplies it); and that the role logs in
 * with it. When it does not, the supervisor sets the password itself (`ALTER ROLE … LOGIN
 * PASSWORD` with a SCRAM-SHA-256 verifier computed here, so the password itself never crosses the
 * wire or reaches the server's statement log) if its own role may; otherwise the operator creates
 * the role with that password. A role with more than it needs (SUPERUSER, CREATEROLE, CREATEDB,
 * REPLICATION, BYPASSRLS, membership of another role, CREATE on the database or on another
 * schema) is refused: its isolation would be a pretence.
 *
 * Passwords are never logged or put in an error; the URLs built here carry them, so never log a
 * URL either (`describeTarget` shows one without its credentials).
 *
 * @example
 * ```ts ignore
 * const urls = await provisionUserLogins(sql, config.databaseUrl, {
 *   users: ["user_0001"],
 *   dir: config.dbUsers.dir,
 *   generate: config.dbUsers.generate,
 * });
 * urls.get("user_0001"); // postgres://user_0001_rw:…@127.0.0.1:5432/recio
 * ```
 *
 * @module
 */
import { sleep } from "./sleep.ts";
import type { Logger } from "@logtape/logtape";
import { createSql, describeTarget, type Sql } from "./db.ts";
import { ConfigError, DatabaseError } from "./errors.ts";
import {
  passwordFile,
  type PasswordOptions,
  readUserPassword,
  scramVerifier,
} from "./db_user_passwords.ts";
import { userDatabaseUrl, userRole } from "./db_user_urls.ts";

export { USER_NAME, USER_POSTGRES_ENV, userDatabaseUrl, userRole } from "./db_user_urls.ts";
export {
  passwordFile,
  type PasswordOptions,
  readUserPassword,
  scramVerifier,
} from "./db_user_passwords.ts";

/** Key of the advisory lock held while a user's schema is created ("rusr"). */
const USER_LOCK = 0x7275_7372;

/** Options of {@linkcode provisionUserLogins}. */
export interface UserLoginOptions extends PasswordOptions {
  users: readonly string[];
  /** The folder of `<user>.password` files. */
  dir: string;
  /** Seconds before a login attempt fails. */
  connectTimeout?: number;
}

type LoginResult = { ok: true } | { ok: false; code: string | undefined; message: string };

/** One connection as the role: does it log in? */
async function tryLogin(url: string, connectTimeout: number): Promise<LoginResult> {
  const sql = createSql(url, { max: 1, connectTimeout, applicationName: "recio-login-check" });
  try {
    await sql`select 1`;
    return { ok: true };
  } catch (e) {
    const code = (e as { code?: string }).code;
    // The message of a refused login never quotes the password; a URL in it is cut anyway.
    const message = (e instanceof Error ? e.message : String(e)).replace(/postgres\S*/g, "<url>");
    return { ok: false, code, message };
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

const code = (e: unknown) => (e as { code?: string })?.code;
const why = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Creates (or completes) the schema and role of `user`, one start at a time per database. */
async function ensureSchema(sql: Sql, user: string, target: string): Promise<void> {
  try {
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${USER_LOCK})`;
      await tx`select system.create_user_schema(${user})`;
    });
  } catch (e) {
    if (code(e) === "42501") {
      throw new ConfigError(
        `Cannot create the schema of ${user} in ${target}: the DATABASE_URL role may not ` +
          `(${why(e)}); as the database owner, create role ${userRole(user)} (nologin is fine) ` +
          `and run select system.create_user_schema('${user}')`,
      );
    }
    throw new DatabaseError(`Cannot create the schema of ${user} in ${target}: ${why(e)}`);
  }
}

/** Sets `password` on the role (as a SCRAM verifier), retrying a concurrent update of the role. */
async function setPassword(sql: Sql, role: string, password: string): Promise<void> {
  const verifier = await scramVerifier(password);
  // Quoted by PostgreSQL itself (format %I, %L): ALTER ROLE takes no bind parameters.
  const [row] = await sql<{ statement: string }[]>`
    select format('alter role %I with login password %L', ${role}::text, ${verifier}::text)
      as statement`;
  for (let attempt = 1;; attempt++) {
    try {
      await sql.unsafe(row!.statement);
      return;
    } catch (e) {
      // Roles are shared by every database of the server: another one (a second instance, a
      // concurrent test run) may be updating the same role at this moment.
      if (attempt >= 5 || !/tuple concurrently updated/.test(why(e))) throw e;
      await sleep(20 * attempt);
    }
  }
}

/** Refuses a role that can do more than its schema needs. */
async function checkRole(sql: Sql, user: string, target: string): Promise<void> {
  const role = userRole(user);
  const [r] = await sql<
    {
      attrs: string[];
      member_of: string[];
      create_db: boolean;
      create_in: string[];
    }[]
  >`
    select array_remove(array[
             case when r.rolsuper then 'SUPERUSER' end,
             case when r.rolcreaterole then 'CREATEROLE' end,
             case when r.rolcreatedb then 'CREATEDB' end,
             case when r.rolreplication then 'REPLICATION' end,
             case when r.rolbypassrls then 'BYPASSRLS' end], null) as attrs,
           array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid
                  where m.member = r.oid order by 1) as member_of,
           has_database_privilege(r.oid, current_database(), 'CREATE') as create_db,
           array(select n.nspname::text from pg_namespace n
                  where has_schema_privilege(r.oid, n.oid, 'CREATE') and n.nspname <> ${user}
                    and n.nspname !~ '^pg_(toast_)?temp_' order by 1) as create_in
      from pg_roles r where r.rolname = ${role}`;
  if (!r) throw new DatabaseError(`Cannot find role ${role} in ${target} after creating it`);
  const extra = [
    ...r.attrs,
    ...r.member_of.map((g) => `membership of ${g}`),
    ...(r.create_db ? ["CREATE on the database"] : []),
    ...r.create_in.map((s) => `CREATE on schema ${s}`),
  ];
  if (extra.length > 0) {
    throw new ConfigError(
      `Cannot use role ${role} in ${target} as the login of ${user}: it has ${
        extra.join(", ")
      }, which its own schema does not need and which would undo its isolation; remove them ` +
        `(alter role ${role} nosuperuser nocreaterole nocreatedb noreplication nobypassrls; ` +
        `revoke the memberships and CREATE grants)`,
    );
  }
}

/**
 * Temporary tables are the one kind of table PUBLIC may create by default: revoke that on this
 * database (the owner and superusers keep it) when a user role still could. Best effort: a
 * supervisor that does not own the database says so once.
 */
async function revokeTemp(sql: Sql, roles: readonly string[], log?: Logger): Promise<void> {
  const [r] = await sql<{ any: boolean; db: string }[]>`
    select bool_or(has_database_privilege(rolname, current_database(), 'TEMP')) as any,
           current_database() as db
      from pg_roles where rolname = any(${roles as string[]})`;
  if (!r?.any) return;
  const [row] = await sql<{ statement: string }[]>`
    select format('revoke temporary on database %I from public', ${r.db}::text) as statement`;
  try {
    await sql.unsafe(row!.statement);
  } catch (e) {
    log?.warn("Cannot revoke temporary tables from PUBLIC on this database: {error}", {
      error: why(e),
    });
  }
}

/**
 * Makes sure every user in `options.users` has its schema and a role that logs in with the
 * password of its file (see the module); returns each user's connection URL (a secret).
 * A missing or unsafe password file, or a role that cannot be made to log in, is a
 * {@linkcode ConfigError} naming the user and what to do; an unreachable server a
 * {@linkcode DatabaseError}.
 */
export async function provisionUserLogins(
  sql: Sql,
  baseUrl: string,
  options: UserLoginOptions,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (options.users.length === 0) return out;
  const target = describeTarget(baseUrl);
  const [row] = await sql<{ db: string }[]>`select current_database() as db`;
  const db = row!.db;
  const timeout = options.connectTimeout ?? 10;
  for (const user of options.users) {
    const role = userRole(user);
    const file = passwordFile(options.dir, user);
    await ensureSchema(sql, user, target);
    await checkRole(sql, user, target);
    const password = readUserPassword(options.dir, user, options);
    const url = userDatabaseUrl(baseUrl, { user, password, database: db });
    let login = await tryLogin(url, timeout);
    if (!login.ok && (login.code === "28000" || login.code === "28P01")) {
      try {
        await setPassword(sql, role, password);
      } catch (e) {
        if (code(e) !== "42501") {
          throw new DatabaseError(
            `Cannot set the password of role ${role} in ${target}: ${why(e)}`,
          );
        }
        throw new ConfigError(
          `Cannot log in to ${target} as role ${role} with the password in ${file} ` +
            `(${login.message}), and the DATABASE_URL role may not set it: as a role with ` +
            `CREATEROLE, run alter role ${role} login password '<the password in that file>'`,
        );
      }
      options.log?.info("Set the login password of role {role} from {file}", { role, file });
      login = await tryLogin(url, timeout);
    }
    if (!login.ok) {
      const refused = login.code?.startsWith("28") || login.code === "3D000";
      const message = `Cannot log in to ${target} as role ${role} (the login of ${user}): ` +
        `${login.message}${login.code ? ` (${login.code})` : ""}${
          refused ? "; check that pg_hba.conf lets it connect with a password" : ""
        }`;
      throw refused ? new ConfigError(message) : new DatabaseError(message);
    }
    out.set(user, url);
  }
  await revokeTemp(sql, options.users.map(userRole), options.log);
  return out;
}
