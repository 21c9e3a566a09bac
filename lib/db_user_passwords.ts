/**
 * Password files of per-user database logins (see `db_users.ts`): `<dir>/<user>.password`, one
 * line of visible ASCII, readable only by the service's OS user, generated on first start when
 * asked; and the SCRAM-SHA-256 verifier set on the role, so the password never crosses the wire.
 * A password is never logged or put in an error.
 *
 * @example
 * ```ts ignore
 * const password = readUserPassword(dir, "user_0001", { generate: true });
 * const verifier = await scramVerifier(password);
 * ```
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { ConfigError } from "./errors.ts";
import { ensurePrivateDir, ensurePrivateFile, PRIVATE_FILE_MODE } from "./private_files.ts";
import { checkUser, userRole } from "./db_user_urls.ts";

/** A stored password: visible ASCII (so SASLprep leaves it as it is), no spaces, one line. */
const PASSWORD = /^[\x21-\x7E]{1,1024}$/;

/** Where the password of `user` is kept. */
export function passwordFile(dir: string, user: string): string {
  checkUser(user);
  return `${dir.replace(/(.)\/+$/, "$1")}/${user}.password`;
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

async function hmac(key: Uint8Array, message: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(message)));
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, as `psql
 * \password` computes it), so that `ALTER ROLE … PASSWORD` carries no password. `password` must
 * be visible ASCII, which SASLprep leaves unchanged.
 */
export async function scramVerifier(
  password: string,
  options: { salt?: Uint8Array; iterations?: number } = {},
): Promise<string> {
  if (!PASSWORD.test(password)) throw new RangeError("Cannot hash a password: not visible ASCII");
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const iterations = options.iterations ?? 4096;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const salted = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
      key,
      256,
    ),
  );
  const clientKey = await hmac(salted, "Client Key");
  const storedKey = new Uint8Array(
    await crypto.subtle.digest("SHA-256", clientKey as BufferSource),
  );
  const serverKey = await hmac(salted, "Server Key");
  return `SCRAM-SHA-256$${iterations}:${base64(salt)}$${base64(storedKey)}:${base64(serverKey)}`;
}

function newPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** What to do about a missing password file. */
export interface PasswordOptions {
  /** Create a missing one with a new random password (the embedded server). */
  generate: boolean;
  log?: Logger | undefined;
}

function missing(user: string, file: string): ConfigError {
  const role = userRole(user);
  return new ConfigError(
    `Cannot give ${user} its database login: no password file ${file}. With an external ` +
      `database, supply it: write the password of role ${role} alone into that file, readable ` +
      `only by the service (chmod 600); the supervisor sets it on the role when its ` +
      `DATABASE_URL role may (CREATEROLE), otherwise create the role with it first (create role ` +
      `${role} login password '…'). RECIO_DB_USERS_DIR names the folder`,
  );
}

/**
 * The password of `user` from `<dir>/<user>.password`. A missing file is generated (0600, in a
 * 0700 folder) when `generate` is set, and refused otherwise; a file that its group or others may
 * read is refused, not fixed (someone may have read it: change the password, then chmod 600); so
 * is one that does not hold one line of visible ASCII.
 */
export function readUserPassword(dir: string, user: string, options: PasswordOptions): string {
  const file = passwordFile(dir, user);
  let stat: Deno.FileInfo;
  try {
    stat = Deno.statSync(file);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new ConfigError(
        `Cannot read the password file ${file} of ${user}: ${(e as Error).name}`,
      );
    }
    if (!options.generate) throw missing(user, file);
    return generatePassword(dir, user, file, options.log);
  }
  if (!stat.isFile) {
    throw new ConfigError(`Cannot read the password file ${file} of ${user}: not a file`);
  }
  const mode = stat.mode === null ? 0 : stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `Cannot use the password file ${file} of ${user}: its mode is 0${mode.toString(8)}, so ` +
        `other OS users may read it; change the password of role ${userRole(user)} if they may ` +
        `have, then chmod 600 the file (it is refused, not fixed)`,
    );
  }
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    throw new ConfigError(`Cannot read the password file ${file} of ${user}: ${(e as Error).name}`);
  }
  const password = text.replace(/\r?\n$/, "");
  if (!PASSWORD.test(password)) {
    throw new ConfigError(
      `Cannot use the password file ${file} of ${user}: it must hold the password alone on one ` +
        `line, 1-1024 visible ASCII characters without spaces`,
    );
  }
  return password;
}

function generatePassword(dir: string, user: string, file: string, log?: Logger): string {
  ensurePrivateDir(dir);
  const password = newPassword();
  // Written beside, then linked: the file appears whole or not at all (a crash leaves no empty
  // one), and a file that appeared meanwhile is never replaced, but used.
  const tmp = `${file}.${Deno.pid}.tmp`;
  ensurePrivateFile(tmp);
  try {
    Deno.writeTextFileSync(tmp, `${password}\n`);
    Deno.chmodSync(tmp, PRIVATE_FILE_MODE);
    Deno.linkSync(tmp, file);
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      return readUserPassword(dir, user, { generate: false });
    }
    throw new ConfigError(
      `Cannot write the password file ${file} of ${user}: ${(e as Error).name}`,
    );
  } finally {
    Deno.removeSync(tmp);
  }
  log?.info("Generated the database password of {user} in {file}", { user, file });
  return password;
}
