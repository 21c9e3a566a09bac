/**
 * The process tree of a real `deno task start`, measured from outside: `main.ts` run with the
 * `start` task's own `deno run` arguments (read from `deno.json`; the task runner above it is no
 * part of the tree) on an embedded database in a fresh data directory (mode 755, so the
 * `postgres` OS user can enter it when we are root), with every venue pointed at a closed port on
 * 127.0.0.1 (no venue reachable), until `/readyz` answers and every actor has started; then the
 * RSS (and PSS) of the heart, of the supervisor process (named in `<dataDir>/heart.json`) and of
 * the embedded server's processes, which are not part of the tree. Used by `bench/supervisor.ts`.
 *
 * @module
 */
import { freePort } from "../lib/embedded_db/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../deno.json", import.meta.url);

/** The `deno run` arguments of `deno.json`'s `start` task, with `main.ts` made absolute. */
export function startArgs(): string[] {
  const task: string = JSON.parse(Deno.readTextFileSync(DENO_JSON)).tasks.start;
  const words = task.trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "main.ts") {
    throw new Error(`the start task is not "deno run … main.ts": ${task}`);
  }
  return [...words.slice(1, -1), MAIN];
}

/** RSS and PSS of one process or a sum, in bytes. */
export interface Mem {
  rss: number;
  pss: number;
}

/** One measured start of the tree. */
export interface TreeRun {
  /** Spawn of `main.ts` to `/readyz` 200. */
  readyMs: number;
  heart: Mem;
  supervisor: Mem;
  /** The embedded PostgreSQL's processes (postmaster and its children): not part of the tree. */
  postgres: Mem & { processes: number };
  /** Children with a live worker (the transient jobs not running are not counted). */
  actors: number;
}

const kb = (text: string, key: string) =>
  Number(text.match(new RegExp(`^${key}:\\s+(\\d+)`, "m"))?.[1]);

/** RSS (`/proc/<pid>/status`) and PSS (`smaps_rollup`) of `pid`, in bytes; 0 when it is gone. */
export function processMem(pid: number): Mem {
  try {
    const rss = kb(Deno.readTextFileSync(`/proc/${pid}/status`), "VmRSS") * 1024;
    const pss = kb(Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`), "Pss") * 1024;
    return { rss, pss };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

function postgresMem(pgDir: string): TreeRun["postgres"] {
  let pids: number[] = [];
  try {
    const master = Number(Deno.readTextFileSync(`${pgDir}/postmaster.pid`).split("\n")[0]);
    const kids = Deno.readTextFileSync(`/proc/${master}/task/${master}/children`);
    pids = [master, ...kids.trim().split(/\s+/).filter(Boolean).map(Number)];
  } catch { /* not running */ }
  const mems = pids.map(processMem);
  return {
    rss: mems.reduce((n, m) => n + m.rss, 0),
    pss: mems.reduce((n, m) => n + m.pss, 0),
    processes: pids.length,
  };
}

async function getJson(url: string): Promise<unknown> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    if (!r.ok) {
      await r.body?.cancel();
      return undefined;
    }
    return await r.json();
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `main.ts` on `dataDir` (with `childrenFile` as `RECIO_CHILDREN_FILE` when given),
 * waits for `/readyz`, for every actor to have started and then `settleMs`, measures, and stops
 * it with SIGTERM. Throws when it is not ready within 60 s.
 */
export async function measureTree(
  dataDir: string,
  o: { childrenFile?: string; settleMs?: number } = {},
): Promise<TreeRun> {
  const port = freePort();
  const closed = freePort(); // nothing listens there: every venue is unreachable
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: startArgs(),
    env: {
      RECIO_DATA_DIR: dataDir,
      RECIO_HTTP_PORT: String(port),
      RECIO_LOG_LEVEL: "info", // the default: what `deno task start` logs
      DATABASE_URL: "",
      RECIO_COINBASE_WS_URL: `ws://127.0.0.1:${closed}`,
      RECIO_COINBASE_REST_URL: `http://127.0.0.1:${closed}`,
      KALSHI_BASE_URL: `http://127.0.0.1:${closed}/trade-api/v2`,
      ...(o.childrenFile ? { RECIO_CHILDREN_FILE: o.childrenFile } : {}),
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const base = `http://127.0.0.1:${port}`;
    let readyMs = NaN;
    while (performance.now() - t0 < 60_000) {
      const r = await fetch(`${base}/readyz`).catch(() => undefined);
      await r?.body?.cancel();
      if (r?.status === 200) {
        readyMs = performance.now() - t0;
        break;
      }
      await sleep(20);
    }
    if (Number.isNaN(readyMs)) throw new Error("the tree was not ready within 60 s");
    // Every permanent child started (a dependent one starts after what it depends on) and none
    // still starting; the transient jobs wait for their schedule.
    type Row = { state: string; incarnation: number; restart: string };
    let rows: Row[] | undefined;
    for (let waited = 0; waited < 15_000; waited += 100) {
      rows = await getJson(`${base}/actors`) as Row[] | undefined;
      const started = (r: Row) =>
        (r.restart !== "permanent" || r.incarnation > 0) && r.state !== "starting";
      if (rows?.every(started)) break;
      await sleep(100);
    }
    const live = (rows ?? []).filter((r) => r.incarnation > 0 && r.state !== "stopped");
    await sleep(o.settleMs ?? 3_000);
    const state = JSON.parse(await Deno.readTextFile(`${dataDir}/heart.json`));
    return {
      readyMs,
      heart: processMem(child.pid),
      supervisor: processMem(state.child.pid),
      postgres: postgresMem(`${dataDir}/pg`),
      actors: live.length,
    };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
  }
}

/** RSS and PSS of an idle Deno process run as the `start` task runs `main.ts`: the floor of each. */
export async function bareProcessMem(): Promise<Mem> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...startArgs().slice(0, -1), "data:text/javascript,setTimeout(() => {}, 60000)"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await sleep(1_000);
    return processMem(child.pid);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}
