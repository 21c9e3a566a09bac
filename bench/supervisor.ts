/**
 * Supervisor benchmarks: restart latency (crash → replacement ready) beside a bare worker spawn
 * of the same actor module in the same run; hang detection → replacement; RSS of the process with
 * 7 idle actors; `deno task start` to all-ready on the embedded database, cold and warm.
 *
 * @module
 */
import { validateChildSpecs } from "../supervisor/child_spec.ts";
import type { SupervisorEvent } from "../supervisor/event_log.ts";
import { Supervisor } from "../supervisor/mod.ts";
import { freePort } from "../lib/embedded_db/mod.ts";
import { type BenchRow, percentile, round } from "./_stats.ts";

const ACTOR = new URL("../tests/fixtures/test_actor.ts", import.meta.url).href;
const N = 200;

function rss(): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(/^VmRSS:\s+(\d+)/m);
  return m ? Number(m[1]) * 1024 : NaN;
}

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

async function idleRss(): Promise<{ before: number; after: number }> {
  const before = rss();
  const { sup } = supervised(7);
  sup.start();
  while (!sup.children().every((c) => c.state === "running")) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const after = rss();
  await sup.stop();
  return { before, after };
}

async function startToReady(dataDir: string): Promise<number> {
  const port = freePort();
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname],
    env: {
      RECIO_DATA_DIR: dataDir,
      RECIO_HTTP_PORT: String(port),
      RECIO_LOG_LEVEL: "error",
      DATABASE_URL: "",
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  let ms = NaN;
  while (performance.now() - t0 < 60_000) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      await r.body?.cancel();
      if (r.status === 200) {
        ms = performance.now() - t0;
        break;
      }
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGTERM");
  await child.status;
  return ms;
}

/** Runs the supervisor benchmarks. */
export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const b = "supervisor";
  const bare = await bareSpawn();
  const restart = await restartLatency();
  rows.push(
    {
      bench: b,
      metric: "bare worker spawn → ready p50",
      value: round(percentile(bare, 50)),
      unit: "ms",
      note: `n=${N}, same actor module`,
    },
    {
      bench: b,
      metric: "bare worker spawn → ready p99",
      value: round(percentile(bare, 99)),
      unit: "ms",
    },
    {
      bench: b,
      metric: "restart crash → replacement ready p50",
      value: round(percentile(restart, 50)),
      unit: "ms",
      note: `n=${N}, backoff 0`,
    },
    {
      bench: b,
      metric: "restart crash → replacement ready p99",
      value: round(percentile(restart, 99)),
      unit: "ms",
    },
  );
  const hang = await hangReplacement();
  rows.push({
    bench: b,
    metric: "silent worker → replacement ready p50",
    value: round(percentile(hang, 50)),
    unit: "ms",
    note: "hangAfterMs 300, heartbeat 50 ms, n=10",
  });
  const mem = await idleRss();
  rows.push(
    { bench: b, metric: "RSS before actors", value: round(mem.before / 2 ** 20, 1), unit: "MiB" },
    {
      bench: b,
      metric: "RSS with 7 idle actors",
      value: round(mem.after / 2 ** 20, 1),
      unit: "MiB",
      note: `${round((mem.after - mem.before) / 7 / 2 ** 20, 1)} MiB per actor`,
    },
  );
  const dataDir = await Deno.makeTempDir({ prefix: "recio-bench-" });
  await Deno.chmod(dataDir, 0o755);
  try {
    const cold = await startToReady(dataDir);
    const warm = await startToReady(dataDir);
    rows.push(
      {
        bench: b,
        metric: "start → ready, embedded DB, cold",
        value: round(cold, 0),
        unit: "ms",
        note: "initdb + migrations",
      },
      { bench: b, metric: "start → ready, embedded DB, warm", value: round(warm, 0), unit: "ms" },
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
  return rows;
}
