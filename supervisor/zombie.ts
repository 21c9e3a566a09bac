/**
 * Zombie workers: `worker.terminate()` returns at once but does not stop a worker thread spinning
 * in a busy or microtask loop (measured on Deno 2.9.6). Deno names worker threads `worker-N`, so
 * the threads of this process tell whether a terminated worker is still burning a core: more
 * `worker-*` threads than live workers, and at least one of them hot ({@linkcode ZombieWatch}).
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

/** Options of a {@linkcode ZombieWatch}. */
export interface ZombieWatchOptions {
  /** How long a zombie thread may burn CPU before escalating. */
  boundMs?: number;
  /** Reads the CPU ticks of the worker threads (injectable for tests). */
  readTicks?: () => Map<string, number>;
}

/**
 * Counts hung workers that were terminated and tells, from samples of the process's threads at
 * least a second apart, when one still burns a core `boundMs` after the oldest was terminated:
 * more `worker-*` threads than live workers and one of them hot. Forgets the zombies once every
 * extra thread has ended; escalates once.
 */
export class ZombieWatch {
  #zombies: { id: string; incarnation: number; at: number }[] = [];
  #sample: { at: number; ticks: Map<string, number> } | undefined;
  #escalated = false;
  #boundMs: number;
  #readTicks: () => Map<string, number>;

  constructor(options: ZombieWatchOptions = {}) {
    this.#boundMs = options.boundMs ?? 10_000;
    this.#readTicks = options.readTicks ?? (() => workerThreadTicks());
  }

  /** Zombies counted (terminated hung workers, possibly still running). */
  get count(): number {
    return this.#zombies.length;
  }

  /** Records the terminated worker of incarnation `incarnation` of `id` at `at`. */
  add(id: string, incarnation: number, at: number): void {
    this.#zombies.push({ id, incarnation, at });
  }

  /**
   * Samples at `now` (only once the bound has passed); `liveWorkers` counts the workers that are
   * meant to run. Returns the reason to escalate to a process restart, once.
   */
  check(now: number, liveWorkers: () => number): string | undefined {
    if (this.#zombies.length === 0 || this.#escalated) return undefined;
    const oldest = this.#zombies[0]!.at;
    if (now - oldest < this.#boundMs) return undefined;
    const ticks = this.#readTicks();
    const live = liveWorkers();
    const prev = this.#sample;
    this.#sample = { at: now, ticks };
    if (!prev || now - prev.at < 1_000) {
      if (prev) this.#sample = prev;
      return undefined;
    }
    const extra = ticks.size - live;
    // Half a core: a spinning thread on a loaded 2-core machine may get no more than that.
    const hot = hotThreads(prev.ticks, ticks, now - prev.at, 0.5);
    if (extra <= 0) {
      // Every zombie thread has ended: forget them.
      this.#zombies = [];
      this.#sample = undefined;
      return undefined;
    }
    if (hot.length === 0) return undefined;
    this.#escalated = true;
    return `${extra} zombie worker thread(s) still running; ${hot.length} hot after ${
      now - oldest
    } ms`;
  }
}
