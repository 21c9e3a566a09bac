/**
 * A disposable PostgreSQL cluster for failover tests: a primary made by `initdb` and a streaming
 * standby made by `pg_basebackup -R`, each on an ephemeral port of 127.0.0.1, in a temporary
 * folder that `dispose()` removes. Replication is synchronous (`synchronous_standby_names = '*'`,
 * `synchronous_commit = on`): a commit is acknowledged only once the standby has it, so a
 * failover loses no acknowledged write. The standby itself requires no synchronous standby, so
 * once promoted it commits on its own.
 *
 * The server tools (`initdb`, `pg_ctl`, `postgres`, `pg_basebackup`, one major version) are found
 * in the folders `lib/pg_tools.ts` searches (the embedded server ships no `pg_basebackup`);
 * {@linkcode NO_PG_SERVER_TOOLS} says why the cluster cannot be built when none hold them. As
 * root, PostgreSQL refuses to run: the servers then run as the `postgres` OS user, as the
 * embedded server does (`lib/embedded_db/os_user.ts`).
 *
 * `fsync = off` keeps the start fast: `stopPrimary()` kills the server's processes, not the
 * machine, so what the server wrote is still in the OS's cache for the standby and for a restart.
 *
 * @example
 * ```ts ignore
 * await using cluster = await startPgCluster();
 * const sql = createSql(cluster.url());
 * await cluster.stopPrimary();
 * await cluster.promote();
 * ```
 *
 * @module
 */
import { spawn } from "node:child_process";
import { createSql } from "../lib/db.ts";
import { blockedFolders, type Ids, serverUser } from "../lib/embedded_db/os_user.ts";
import { lastLines, pgTool } from "../lib/embedded_db/pg_ctl.ts";
import { pgBinDirs, toolVersion } from "../lib/pg_tools.ts";
import { eventually } from "./_eventually.ts";
import { tempDir } from "./_temp.ts";

const TOOLS = ["initdb", "pg_ctl", "postgres", "pg_basebackup"] as const;

/** A folder holding every server tool, all of one major version. */
export interface ServerTools {
  dir: string;
  major: number;
}

/** The first folder of `pgBinDirs()` holding every server tool of one major version. */
export async function findServerTools(): Promise<ServerTools | string> {
  const dirs = pgBinDirs(Deno.env.get("RECIO_PG_BIN_DIR") || undefined);
  for (const dir of dirs) {
    const majors = new Set<number>();
    for (const tool of TOOLS) majors.add((await toolVersion(`${dir}/${tool}`))?.major ?? -1);
    const [major] = majors;
    if (majors.size === 1 && major !== undefined && major > 0) return { dir, major };
  }
  return `no folder holds ${TOOLS.join(", ")} of one PostgreSQL version (searched ${
    dirs.join(", ") || "none"
  }; set RECIO_PG_BIN_DIR to one)`;
}

const found = await findServerTools();
/** Why the PostgreSQL server tools for a replicated cluster are missing, or undefined. */
export const NO_PG_SERVER_TOOLS: string | undefined = typeof found === "string" ? found : undefined;

/** A primary and its synchronous streaming standby; `await using` stops both and removes them. */
export interface PgCluster extends AsyncDisposable {
  readonly primaryPort: number;
  readonly standbyPort: number;
  /** Both servers, primary first, with `target_session_attrs=primary`. */
  url(): string;
  /** One server only (to check where a row landed). */
  serverUrl(which: "primary" | "standby"): string;
  /** Stops the primary the hard way (`pg_ctl stop -m immediate`: no checkpoint, no goodbye). */
  stopPrimary(): Promise<void>;
  /** Promotes the standby (`pg_ctl promote`); resolves once it accepts writes. */
  promote(): Promise<void>;
  /** Stops both servers and removes the folder (runs once). */
  dispose(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Runs a tool of `tools.dir` (as the postgres OS user when root); throws with its output. */
async function run(tools: ServerTools, ids: Ids, tool: string, args: string[]): Promise<void> {
  const r = await pgTool(`${tools.dir}/${tool}`, args, ids);
  if (r.code !== 0) {
    throw new Error(`Cannot build the test cluster: ${tool} failed: ${lastLines(r.out, 4)}`);
  }
}

/** A folder the server's OS user owns. */
async function ownedDir(path: string, ids: Ids): Promise<void> {
  await Deno.mkdir(path, { mode: 0o700 });
  if (ids) await Deno.chown(path, ids.uid, ids.gid);
}

/** Starts a server on a fresh ephemeral port (another is tried when one was taken meanwhile). */
async function start(tools: ServerTools, ids: Ids, dir: string, log: string): Promise<number> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freePort();
    try {
      await run(tools, ids, "pg_ctl", [
        "start",
        "-D",
        dir,
        "-w",
        "-t",
        "30",
        "-l",
        log,
        "-o",
        `-p ${port}`,
      ]);
      return port;
    } catch (e) {
      last = e;
      await pgTool(`${tools.dir}/pg_ctl`, ["stop", "-D", dir, "-m", "immediate", "-w"], ids);
    }
  }
  const tail = await Deno.readTextFile(log).catch(() => "");
  throw new Error(`${(last as Error).message}. Server log: ${lastLines(tail, 4)}`);
}

/**
 * Stops the servers and removes `root` should this process die without disposing (a killed test
 * run): a shell, as the servers' OS user, that polls for our pid. Ended by `dispose()`.
 */
function guard(tools: ServerTools, ids: Ids, root: string): () => void {
  const script = 'while [ -d "/proc/$OWNER" ]; do sleep 0.5; done; ' +
    'for d in "$ROOT/primary" "$ROOT/standby"; do ' +
    '[ -f "$d/postmaster.pid" ] && "$PG_CTL" stop -D "$d" -m immediate -w -t 10; done; ' +
    'rm -rf "$ROOT"';
  const child = spawn("/bin/sh", ["-c", script], {
    ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
    env: {
      PATH: "/usr/bin:/bin",
      OWNER: String(Deno.pid),
      ROOT: root,
      PG_CTL: `${tools.dir}/pg_ctl`,
    },
    detached: true,
    stdio: "ignore",
  });
  child.unref();
  return () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
}

/** `postgresql.conf` of both servers (the standby gets a copy through `pg_basebackup`). */
const SETTINGS = [
  "listen_addresses = '127.0.0.1'",
  "unix_socket_directories = ''",
  "wal_level = replica",
  "max_wal_senders = 4",
  "hot_standby = on",
  "synchronous_commit = on",
  "synchronous_standby_names = '*'",
  "fsync = off",
  "shared_buffers = 16MB",
  "max_connections = 40",
  "",
].join("\n");

/** Builds and starts the primary and its standby, and waits until the standby is synchronous. */
export async function startPgCluster(): Promise<PgCluster> {
  if (typeof found === "string") throw new Error(`Cannot build the test cluster: ${found}`);
  const tools = found;
  const ids = await serverUser();
  const root = await tempDir("recio-pgcluster-");
  if (ids) {
    const blocked = [...blockedFolders(root.path, ids), ...blockedFolders(tools.dir, ids)];
    if (blocked.length > 0) {
      await root[Symbol.asyncDispose]();
      throw new Error(
        `Cannot build the test cluster as root: the postgres OS user cannot enter ${
          blocked.map((b) => b.dir).join(", ")
        }`,
      );
    }
    await Deno.chown(root.path, ids.uid, ids.gid);
  }
  const unguard = guard(tools, ids, root.path);
  const primary = `${root.path}/primary`;
  const standby = `${root.path}/standby`;
  const running = new Set<string>();
  let disposed: Promise<void> | undefined;
  const stop = async (dir: string) => {
    if (!running.delete(dir)) return;
    await run(tools, ids, "pg_ctl", ["stop", "-D", dir, "-m", "immediate", "-w", "-t", "30"]);
  };
  const dispose = () =>
    disposed ??= (async () => {
      for (const dir of [...running]) await stop(dir).catch(() => {});
      unguard();
      await root[Symbol.asyncDispose]();
    })();
  try {
    await ownedDir(primary, ids);
    await run(tools, ids, "initdb", [
      `--pgdata=${primary}`,
      "--auth=trust",
      "--username=postgres",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
    ]);
    await Deno.writeTextFile(`${primary}/postgresql.conf`, SETTINGS, { append: true });
    running.add(primary);
    const primaryPort = await start(tools, ids, primary, `${root.path}/primary.log`);
    await ownedDir(standby, ids);
    await run(tools, ids, "pg_basebackup", [
      "-h",
      "127.0.0.1",
      "-p",
      String(primaryPort),
      "-U",
      "postgres",
      "-D",
      standby,
      "-R",
      "-X",
      "stream",
      "-c",
      "fast",
      "--no-sync",
    ]);
    // Once promoted, the standby has no standby of its own: it must not wait for one.
    await Deno.writeTextFile(
      `${standby}/postgresql.auto.conf`,
      "synchronous_standby_names = ''\n",
      {
        append: true,
      },
    );
    running.add(standby);
    const standbyPort = await start(tools, ids, standby, `${root.path}/standby.log`);
    const url = (ports: number[]) =>
      `postgres://postgres@${ports.map((p) => `127.0.0.1:${p}`).join(",")}/postgres`;
    const check = createSql(url([primaryPort]), { max: 1 });
    try {
      await eventually(async () => {
        const rows = await check<{ sync_state: string }[]>`
          select sync_state from pg_stat_replication`;
        return rows.some((r) => r.sync_state === "sync");
      }, { timeoutMs: 30_000, message: "the standby never became synchronous" });
    } finally {
      await check.end();
    }
    return {
      primaryPort,
      standbyPort,
      url: () => `${url([primaryPort, standbyPort])}?target_session_attrs=primary`,
      serverUrl: (which) => url([which === "primary" ? primaryPort : standbyPort]),
      stopPrimary: () => stop(primary),
      promote: () => run(tools, ids, "pg_ctl", ["promote", "-D", standby, "-w", "-t", "30"]),
      dispose,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}
