/**
 * Running the server's tools (`initdb`, `pg_ctl`) as the server's OS user, and starting and
 * stopping the server with `pg_ctl`: the postmaster gets its own session (a terminal's Ctrl-C does
 * not reach it; it stops only when we stop it), and a failed start quotes the server's own log.
 *
 * @example
 * ```ts ignore
 * import { startServer, stopServer } from "./pg_ctl.ts";
 * await startServer(embeddedLayout(dir), { port: 5433, ids, timeoutMs: 60_000 });
 * await stopServer(embeddedLayout(dir), ids, log);
 * ```
 *
 * @module
 */
import type { EmbeddedLog } from "./log.ts";
import { DatabaseError } from "../errors.ts";
import { PG_BIN } from "./binaries.ts";
import type { EmbeddedLayout } from "./layout.ts";
import { clearLeftover } from "./leftover.ts";
import type { Ids } from "./os_user.ts";

/**
 * Runs a PostgreSQL tool (as the `postgres` OS user when we are root); its exit code, and its
 * output with stderr (where the tools say what failed) after stdout. `output()` collects both
 * without a JS stream (the first stream a process pipes loads Deno's streams code into its heap).
 */
export async function pgTool(
  bin: string,
  args: string[],
  ids: Ids,
): Promise<{ code: number; out: string }> {
  // PG* variables (PGPORT, PGDATA…) would change what the tools and the server do.
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("PG")),
  );
  const r = await new Deno.Command(bin, {
    args,
    ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
    clearEnv: true,
    env: { ...env, LC_MESSAGES: "C" },
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code: r.code, out: text.decode(r.stdout) + text.decode(r.stderr) };
}

/** The last `n` non-empty lines of a tool's output, on one line. */
export function lastLines(text: string, n: number): string {
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

/** Options of {@linkcode startServer}. */
export interface StartServerOptions {
  port: number;
  ids: Ids;
  /** Bound on the start until the server accepts connections. */
  timeoutMs: number;
}

/**
 * Starts the server on 127.0.0.1 only (no Unix socket) and waits until it accepts connections;
 * a failure stops what was started and quotes the server's log of this attempt.
 */
export async function startServer(files: EmbeddedLayout, o: StartServerOptions): Promise<void> {
  const { dir, serverLog } = files;
  const offset = await fileSize(serverLog);
  const serverOptions = `-p ${o.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  const seconds = String(Math.max(1, Math.ceil(o.timeoutMs / 1000)));
  const r = await pgTool(
    PG_BIN.pg_ctl,
    ["start", "-D", dir, "-w", "-t", seconds, "-l", serverLog, "-o", serverOptions],
    o.ids,
  );
  if (r.code === 0) return;
  // A server still starting when pg_ctl gave up would be a leftover; stop it now.
  await pgTool(PG_BIN.pg_ctl, ["stop", "-D", dir, "-m", "immediate", "-w", "-t", "10"], o.ids);
  const log = lastLines(await readFrom(serverLog, offset), 6);
  throw new DatabaseError(
    `Cannot start the embedded PostgreSQL on 127.0.0.1:${o.port} (${dir}): ${
      lastLines(r.out, 2)
    }. Server log: ${log}`,
  );
}

/** Fast shutdown, bounded to `seconds`; the tool's exit code and output. */
export function fastStop(
  files: EmbeddedLayout,
  ids: Ids,
  seconds: number,
): Promise<{ code: number; out: string }> {
  return pgTool(
    PG_BIN.pg_ctl,
    ["stop", "-D", files.dir, "-m", "fast", "-w", "-t", String(seconds)],
    ids,
  );
}

/** Stops the server (fast shutdown; harder when that fails and it still runs). */
export async function stopServer(
  files: EmbeddedLayout,
  ids: Ids,
  log: EmbeddedLog | undefined,
): Promise<void> {
  const r = await fastStop(files, ids, 60);
  if (r.code === 0 || !exists(files.pidFile)) return;
  log?.warn("Fast shutdown of the embedded PostgreSQL failed ({why}); stopping it harder", {
    why: lastLines(r.out, 1),
  });
  await clearLeftover(files.dir, { log, graceMs: 5_000 });
}

/** Whether a file exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
