/**
 * Zombie workers: `worker.terminate()` returns at once but does not stop a worker thread spinning
 * in a busy or microtask loop (measured on Deno 2.9.6). Deno names worker threads `worker-N`, so
 * the threads of this process tell whether a terminated worker is still burning a core: more
 * `worker-*` threads than live workers, and at least one of them hot.
 *
 * @module
 */

/** CPU ticks (user + system) of each `worker-*` thread of this process, by thread id. */
export function workerThreadTicks(taskDir = "/proc/self/task"): Map<string, number> {
  const out = new Map<string, number>();
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync(taskDir);
  } catch {
    return out; // not Linux: no view of threads
  }
  for (const t of entries) {
    try {
      const comm = Deno.readTextFileSync(`${taskDir}/${t.name}/comm`).trim();
      if (!comm.startsWith("worker-")) continue;
      const stat = Deno.readTextFileSync(`${taskDir}/${t.name}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(t.name, Number(f[11]) + Number(f[12]));
    } catch {
      // the thread ended while we looked
    }
  }
  return out;
}

/** Threads that used at least `share` of a core between two samples `elapsedMs` apart. */
export function hotThreads(
  before: Map<string, number>,
  after: Map<string, number>,
  elapsedMs: number,
  share = 0.8,
  ticksPerSecond = 100,
): string[] {
  const hot: string[] = [];
  for (const [tid, ticks] of after) {
    const prev = before.get(tid);
    if (prev === undefined) continue;
    const cpuMs = ((ticks - prev) * 1000) / ticksPerSecond;
    if (cpuMs >= elapsedMs * share) hot.push(tid);
  }
  return hot;
}
