/**
 * The one owner of the embedded database's on-disk layout. Every other module (the server's own,
 * the status and verify commands, the configuration's default users folder, the demo, the test
 * runner) asks here where a file is and how it reads, instead of spelling `<dir>.password` again.
 *
 * Beside the data directory `<dir>`:
 * - `<dir>.password`: the `postgres` role's password (mode 0600, never logged);
 * - `<dir>.owner`: the process that owns the running server (`{"pid":…,"startTime":…}`);
 * - `<dir>.users/`: one `<user>.password` per user's role (see `lib/db_users.ts`).
 *
 * Inside it, PostgreSQL's own: `PG_VERSION` (a complete cluster), `postmaster.pid` (line 1 the
 * pid, line 4 the port) and `server.log`, where `pg_ctl` sends the server's output.
 *
 * Nothing here imports the server's package, so commands that only read the files start fast.
 *
 * @example
 * ```ts
 * import { embeddedLayout } from "./layout.ts";
 * const files = embeddedLayout("./data/pg/");
 * console.log(files.password); // ./data/pg.password
 * ```
 *
 * @module
 */

/** Where the embedded database keeps its files. */
export interface EmbeddedLayout {
  /** The data directory, as given, without trailing slashes. */
  dir: string;
  /** The `postgres` role's password, beside the data directory. */
  password: string;
  /** The owner lock: the process that runs the server on this directory. */
  owner: string;
  /** The folder of the users' role password files (`<user>.password`). */
  users: string;
  /** PostgreSQL's pid file: present while a postmaster runs (or after it crashed). */
  pidFile: string;
  /** Present once `initdb` finished: the directory holds a cluster. */
  version: string;
  /** The server's log, where `pg_ctl` sends its output. */
  serverLog: string;
}

/** The files of the embedded database whose data directory is `dir` (not made absolute). */
export function embeddedLayout(dir: string): EmbeddedLayout {
  const d = dir.replace(/(.)\/+$/, "$1");
  return {
    dir: d,
    password: `${d}.password`,
    owner: `${d}.owner`,
    users: `${d}.users`,
    pidFile: `${d}/postmaster.pid`,
    version: `${d}/PG_VERSION`,
    serverLog: `${d}/server.log`,
  };
}

/** What `postmaster.pid` says: the postmaster's pid (line 1) and its port (line 4). */
export interface PostmasterPid {
  /** NaN when the line is not a number. */
  pid: number;
  /** NaN when the line is not a number. */
  port: number;
}

/** Reads the text of a `postmaster.pid`. */
export function parsePostmasterPid(text: string): PostmasterPid {
  const lines = text.split("\n");
  return { pid: Number(lines[0]), port: Number(lines[3]) };
}

/**
 * The password in a password file, trimmed: null when the file cannot be read, "" when it is
 * empty.
 */
export function readPasswordFile(file: string): string | null {
  try {
    return Deno.readTextFileSync(file).trim();
  } catch {
    return null;
  }
}

/** Writes a password file, mode 0600 (also when it existed with another mode). */
export async function writePasswordFile(file: string, password: string): Promise<void> {
  await Deno.writeTextFile(file, password, { mode: 0o600 });
  await Deno.chmod(file, 0o600); // mode applies only on creation
}

/** The connection URL of the embedded server's `postgres` role; it carries the password. */
export function embeddedUrl(password: string, port: number): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}
