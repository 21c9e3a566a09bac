/**
 * Supervisor benchmarks: restart latency (crash → replacement ready) beside a bare worker spawn
 * of the same actor module in the same run, in a process with the supervisor process's V8 flags
 * (`SUPERVISOR_V8_FLAGS`) and in one with V8's defaults; hang detection → replacement; a real
 * `deno task start` on the embedded database (`_tree_rss.ts`), cold and warm, to all-ready, and
 * the RSS of its processes with the default tree and no venue reachable: the heart, the
 * supervisor process, per actor (the tree minus the same tree started with no actors, divided by
 * the actors) and the whole tree (heart + supervisor process; the embedded PostgreSQL's processes
 * are printed beside it but are not part of it), each beside its target.
 *
 * @module
 */
import { validateChildSpecs } from "../supervisor/child_spec.ts";
import type { SupervisorEvent } from "../supervisor/event_log.ts";
import { SUPERVISOR_V8_FLAGS } from "../supervisor/heart.ts";
import { Supervisor } from "../supervisor/mod.ts";
import { bareProcessMem, measureTree, type TreeRun } from "./_tree_rss.ts";
import { type BenchRow, percentile, round } from "./_stats.ts";

const ACTOR = new URL("../tests/fixtures/test_actor.ts", import.meta.url).href;
const N = 200;

async function bareSpawn(): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const w = new Worker(ACTOR, { type: "module" });
    await new Promise<void>((resolve) => {
      w.onmessage = (e) => e.data?.type === "ready" && resolve();
      w.postMessage({
        type: "init",
        id: "bare",
        incarnation: 1,
        node: "bench",
        args: {},
        heartbeatMs: 1000,
        log: { format: "json", level: "fatal" },
      });
    });
    out.push(performance.now() - t0);
    w.terminate();
  }
  return out;
}

function supervised(count: number, extra: Record<string, unknown> = {}) {
  const waiters: ((e: SupervisorEvent) => void)[] = [];
  const sup = new Supervisor(
    validateChildSpecs(Array.from({ length: count }, (_, i) => ({
      id: `a${i}`,
      module: ACTOR,
      heartbeatMs: 50,
      database: false,
      backoff: { minMs: 0, maxMs: 1, jitter: 0 },
      intensity: { maxRestarts: 100_000, periodMs: 1_000 },
      ...extra,
    }))),
    {
      node: "bench",
      tickMs: 20,
      log: { format: "json", level: "fatal" },
      events: {
        record: (e) => {
          for (const w of waiters.splice(0)) w(e);
        },
        setStatus: () => {},
      },
    },
  );
  const next = (event: string, id = "a0") =>
    new Promise<void>((resolve) => {
      const wait = (e: SupervisorEvent) =>
        e.event === event && e.actorId === id ? resolve() : waiters.push(wait);
      waiters.push(wait);
    });
  return { sup, next };
}

async function restartLatency(): Promise<number[]> {
  const { sup, next } = supervised(1);
  const ready = next("ready");
  sup.start();
  await ready;
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const r = next("ready");
    await sup.command("a0", "crash");
    await r;
    out.push(performance.now() - t0);
  }
  await sup.stop();
  return out;
}

async function hangReplacement(): Promise<number[]> {
  const { sup, next } = supervised(1, { hangAfterMs: 300 });
  const ready = next("ready");
  sup.start();
  await ready;
  const out: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const r = next("ready");
    await sup.command("a0", "close");
    await r;
    out.push(performance.now() - t0);
  }
  await sup.stop();
  return out;
}

const MiB = 2 ** 20;
const mib = (bytes: number) => round(bytes / MiB, 1);
const verdict = (ok: boolean) => (ok ? "met" : "NOT met");

/** Bare spawn and restart latencies, measured in a process of their own with `v8Flags`. */
async function latencies(
  v8Flags: readonly string[],
): Promise<{ bare: number[]; restart: number[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-worker-options",
      ...(v8Flags.length > 0 ? [`--v8-flags=${v8Flags.join(",")}`] : []),
      new URL(import.meta.url).pathname,
      "--latencies",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`the latency process failed (exit ${out.code})`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

function latencyRows(b: string, label: string, l: { bare: number[]; restart: number[] }) {
  const bare50 = percentile(l.bare, 50);
  const restart50 = percentile(l.restart, 50);
  const restart99 = percentile(l.restart, 99);
  const rows: BenchRow[] = [
    {
      bench: b,
      metric: `bare worker spawn → ready p50 (${label})`,
      value: round(bare50),
      unit: "ms",
      note: `n=${N}, same actor module`,
    },
    {
      bench: b,
      metric: `bare worker spawn → ready p99 (${label})`,
      value: round(percentile(l.bare, 99)),
      unit: "ms",
    },
    {
      bench: b,
      metric: `restart crash → replacement ready p50 (${label})`,
      value: round(restart50),
      unit: "ms",
      note: `n=${N}, backoff 0; ${round(restart50 / bare50)}× the bare spawn (target ≤ 1.5×: ${
        verdict(restart50 <= 1.5 * bare50)
      })`,
    },
    {
      bench: b,
      metric: `restart crash → replacement ready p99 (${label})`,
      value: round(restart99),
      unit: "ms",
      note: `target ≤ 100 ms: ${verdict(restart99 <= 100)}`,
    },
  ];
  return rows;
}

function treeRows(b: string, tree: TreeRun, empty: TreeRun, bare: { rss: number }): BenchRow[] {
  const rss = tree.heart.rss + tree.supervisor.rss;
  const before = empty.heart.rss + empty.supervisor.rss;
  const perActor = (rss - before) / tree.actors;
  const where = "embedded DB, default tree, no venue reachable";
  return [
    {
      bench: b,
      metric: "heart RSS",
      value: mib(tree.heart.rss),
      unit: "MiB",
      note: `target ≤ 50 MiB: ${verdict(tree.heart.rss <= 50 * MiB)}; ${where}`,
    },
    {
      bench: b,
      metric: "supervisor process RSS",
      value: mib(tree.supervisor.rss),
      unit: "MiB",
      note: `${tree.actors} actors; ${mib(empty.supervisor.rss)} MiB with none`,
    },
    {
      bench: b,
      metric: "RSS per actor",
      value: mib(perActor),
      unit: "MiB",
      note: `(tree ${mib(rss)} − tree before actors ${mib(before)}) / ${tree.actors}`,
    },
    {
      bench: b,
      metric: "tree RSS (heart + supervisor process)",
      value: mib(rss),
      unit: "MiB",
      note: `target ≤ 220 MiB: ${verdict(rss <= 220 * MiB)}; the embedded PostgreSQL is not ` +
        `part of it; PSS ${mib(tree.heart.pss + tree.supervisor.pss)} MiB (the deno binary's ` +
        `pages, mapped by both, counted once)`,
    },
    {
      bench: b,
      metric: "embedded PostgreSQL RSS (not in the tree)",
      value: mib(tree.postgres.rss),
      unit: "MiB",
      note: `${tree.postgres.processes} processes, PSS ${mib(tree.postgres.pss)} MiB`,
    },
    {
      bench: b,
      metric: "idle Deno process RSS",
      value: mib(bare.rss),
      unit: "MiB",
      note: "an empty module run as the start task runs main.ts: the floor of each process above",
    },
  ];
}

const FLOOR = new URL("./_worker_floor.ts", import.meta.url).pathname;

/** RSS one worker of `fixture` adds to a process with the supervisor process's V8 flags. */
async function workerRss(fixture: string): Promise<number> {
  const module = new URL(`./fixtures/${fixture}`, import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--v8-flags=${SUPERVISOR_V8_FLAGS.join(",")}`, FLOOR, module, "6"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error(`${FLOOR} exited with ${out.code}`);
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  return (JSON.parse(line) as { perWorkerKib: number }).perWorkerKib * 1024;
}

/**
 * What bounds the tree: the RSS of a worker that loads nothing, of one that loads only the
 * libraries every actor needs, and of one holding an actor's code; and the floor they set for the
 * whole tree (this run's heart and supervisor process before actors, plus each actor at the
 * libraries' floor: the tree if the system's own code cost nothing).
 */
async function floorRows(b: string, tree: TreeRun, empty: TreeRun): Promise<BenchRow[]> {
  const bare = await workerRss("floor_empty_worker.ts");
  const libs = await workerRss("floor_libs_worker.ts");
  const actor = await workerRss("floor_actor_worker.ts");
  const floor = empty.heart.rss + empty.supervisor.rss + tree.actors * libs;
  return [
    {
      bench: b,
      metric: "RSS of one Web Worker that loads nothing",
      value: mib(bare),
      unit: "MiB",
      note: "the Deno runtime of an isolate: paid by every actor",
    },
    {
      bench: b,
      metric: "RSS of one worker loading postgres.js, zod and LogTape only",
      value: mib(libs),
      unit: "MiB",
      note:
        `+${mib(libs - bare)} MiB over an empty worker (Node compatibility comes with any npm ` +
        "package)",
    },
    {
      bench: b,
      metric: "RSS of one worker holding the price watchdog's modules",
      value: mib(actor),
      unit: "MiB",
      note: `+${mib(actor - libs)} MiB of the system's own code over the libraries`,
    },
    {
      bench: b,
      metric: "tree RSS floor (own code free)",
      value: mib(floor),
      unit: "MiB",
      note: `heart + supervisor before actors + ${tree.actors} × libraries floor; beside the ` +
        `220 MiB target: ${floor <= 220 * MiB ? "below" : "above it"}, so isolated actors bound it`,
    },
  ];
}

/** Runs the supervisor benchmarks. */
export async function run(): Promise<BenchRow[]> {
  const b = "supervisor";
  const rows: BenchRow[] = [];
  const flags = SUPERVISOR_V8_FLAGS.join(" ");
  rows.push(...latencyRows(b, `V8 ${flags}`, await latencies(SUPERVISOR_V8_FLAGS)));
  rows.push(...latencyRows(b, "V8 defaults", await latencies([])));
  const hang = await hangReplacement();
  rows.push({
    bench: b,
    metric: "silent worker → replacement ready p50",
    value: round(percentile(hang, 50)),
    unit: "ms",
    note: "hangAfterMs 300, heartbeat 50 ms, n=10",
  });
  const dataDir = await Deno.makeTempDir({ prefix: "recio-bench-" });
  await Deno.chmod(dataDir, 0o755);
  try {
    const cold = await measureTree(dataDir, { settleMs: 0 });
    const tree = await measureTree(dataDir);
    const noActors = `${dataDir}/no-actors.json`;
    await Deno.writeTextFile(noActors, "[]");
    const empty = await measureTree(dataDir, { childrenFile: noActors });
    // V8's memory reducer and code flushing shrink idle heaps about 30-40 s after start.
    const steady = await measureTree(dataDir, { settleMs: 45_000 });
    rows.push(
      {
        bench: b,
        metric: "start → ready, embedded DB, cold",
        value: round(cold.readyMs, 0),
        unit: "ms",
        note: "initdb + migrations",
      },
      {
        bench: b,
        metric: "start → ready, embedded DB, warm",
        value: round(tree.readyMs, 0),
        unit: "ms",
      },
      ...treeRows(b, tree, empty, await bareProcessMem()),
      {
        bench: b,
        metric: "tree RSS after 45 s idle",
        value: mib(steady.heart.rss + steady.supervisor.rss),
        unit: "MiB",
        note: `heart ${mib(steady.heart.rss)} + supervisor process ${
          mib(steady.supervisor.rss)
        }; target ≤ 220 MiB: ${verdict(steady.heart.rss + steady.supervisor.rss <= 220 * MiB)}`,
      },
      ...await floorRows(b, tree, empty),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
  return rows;
}

if (import.meta.main && Deno.args.includes("--latencies")) {
  const bare = await bareSpawn();
  const restart = await restartLatency();
  console.log(JSON.stringify({ bare, restart }));
  Deno.exit(0);
}
