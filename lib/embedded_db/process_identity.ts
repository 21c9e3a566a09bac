/**
 * Which process a pid names, from `/proc` (Linux only): its state, kernel start time (with the
 * pid, it names one process even after pid reuse), command line and working directory.
 *
 * @example
 * ```ts
 * import { processStartTime } from "./process_identity.ts";
 * const me = processStartTime(Deno.pid);
 * console.log(me === processStartTime(Deno.pid)); // true
 * ```
 *
 * @module
 */

/** What `/proc` says about a process. */
export interface ProcInfo {
  /** One letter: R, S, D, Z (zombie), X (dead)… */
  state: string;
  /** Clock ticks since boot at which it started. */
  startTime: string;
  argv: string[];
  /** Undefined when not ours to read. */
  cwd: string | undefined;
}

/** What `/proc` says about `pid`; undefined when there is no such process. */
export function procInfo(pid: number): ProcInfo | undefined {
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

/** Whether the process exists and is neither a zombie nor dead. */
export function alive(info: ProcInfo | undefined): info is ProcInfo {
  return info !== undefined && info.state !== "Z" && info.state !== "X";
}

/**
 * The kernel's start time of a live process (with the pid, it names one process even after pid
 * reuse), or undefined when no such process runs. Linux only (`/proc`).
 */
export function processStartTime(pid: number): string | undefined {
  const info = procInfo(pid);
  return alive(info) ? info.startTime : undefined;
}

/** Is this process a postmaster serving `dir`? (Its cwd is its data directory.) */
export function isPostmasterOf(info: ProcInfo, dir: string): boolean {
  const name = (info.argv[0] ?? "").split("/").pop();
  if (name !== "postgres") return false;
  return info.cwd === dir || info.argv.includes(dir);
}
