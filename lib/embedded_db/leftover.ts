/**
 * Crash-only start-up: the data directory's `postmaster.pid` is read first. A live postmaster of
 * this directory whose owner process is gone (its parent was SIGKILLed) is stopped (SIGINT = fast
 * shutdown, bounded, then SIGKILL); a pid file whose process is dead, or whose pid now belongs to
 * something else, is removed.
 *
 * @example
 * ```ts ignore
 * import { clearLeftover } from "./leftover.ts";
 * await clearLeftover("/srv/pg", { log }); // "none" | "stale" | "stopped"
 * ```
 *
 * @module
 */
import type { EmbeddedLog } from "./log.ts";
import { type Clock, systemClock } from "../clock.ts";
import { DatabaseError } from "../errors.ts";
import { sleep } from "../sleep.ts";
import { embeddedLayout, parsePostmasterPid } from "./layout.ts";
import { alive, isPostmasterOf, procInfo } from "./process_identity.ts";

async function waitGone(pid: number, timeoutMs: number, clock: Clock): Promise<boolean> {
  const deadline = clock.monotonic() + timeoutMs;
  while (alive(procInfo(pid))) {
    if (clock.monotonic() > deadline) return false;
    await sleep(25, { clock });
  }
  return true;
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch { /* already gone */ }
}

/** Options of {@linkcode clearLeftover}. */
export interface ClearLeftoverOptions {
  log?: EmbeddedLog | undefined;
  /** Time the leftover server has for its fast shutdown before SIGKILL; default 15 000 ms. */
  graceMs?: number;
  clock?: Clock;
}

/**
 * Makes `dir` startable after a crash: stops a leftover postmaster of `dir` (SIGINT, then SIGKILL
 * after `graceMs`) or removes a stale `postmaster.pid`. Callers make sure no live process still
 * owns the server.
 */
export async function clearLeftover(
  dir: string,
  options: ClearLeftoverOptions = {},
): Promise<"none" | "stale" | "stopped"> {
  const { pidFile } = embeddedLayout(dir);
  const clock = options.clock ?? systemClock;
  let text: string;
  try {
    text = await Deno.readTextFile(pidFile);
  } catch {
    return "none";
  }
  const { pid, port } = parsePostmasterPid(text);
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
  if (!(await waitGone(pid, options.graceMs ?? 15_000, clock))) {
    options.log?.warn("Leftover PostgreSQL server {pid} ignored fast shutdown; killing it", {
      pid,
    });
    signal(pid, "SIGKILL");
    if (!(await waitGone(pid, 5_000, clock))) {
      throw new DatabaseError(
        `Cannot stop the leftover PostgreSQL server (pid ${pid}) on ${dir}: it does not exit`,
      );
    }
  }
  return "stopped";
}
