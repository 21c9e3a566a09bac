/**
 * Status API throughput: `GET /status` through the Hono app on `Deno.serve` (each request pings
 * PostgreSQL and reads the latest health row) beside a raw `Deno.serve` answering a fixed JSON of
 * the same size, and `/healthz` (no database) beside the same raw server, all in one run. The
 * load comes from a worker thread (fetch, fixed request count and concurrency) so that client and
 * server do not share an event loop.
 *
 * @module
 */
import { createSql } from "../lib/db.ts";
import { createStatusApp } from "../supervisor/http.ts";
import type { ChildStatus, SupervisorView } from "../supervisor/types.ts";
import { fixedView } from "../tests/_view.ts";
import { type BenchRow, percentile, round } from "./_stats.ts";

const REQUESTS = 5_000;
const CONCURRENCY = 32;
const WARMUP = 300;

/** The load generator, run in a worker: `{url, n, concurrency}` → latencies in ms. */
const CLIENT = `
self.onmessage = async (e) => {
  const { url, n, concurrency } = e.data;
  const latencies = new Array(n);
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  async function lane() {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const s = performance.now();
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status !== 200) failed++;
      latencies[i] = performance.now() - s;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  self.postMessage({ latencies, wallMs: performance.now() - t0, failed });
};`;

interface LoadResult {
  latencies: number[];
  wallMs: number;
  failed: number;
}

function load(url: string, n: number): Promise<LoadResult> {
  const src = URL.createObjectURL(new Blob([CLIENT], { type: "application/javascript" }));
  const worker = new Worker(src, { type: "module" });
  return new Promise<LoadResult>((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data as LoadResult);
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`load worker failed: ${e.message}`));
    };
    worker.postMessage({ url, n, concurrency: CONCURRENCY });
  }).finally(() => {
    worker.terminate();
    URL.revokeObjectURL(src);
  });
}

function child(id: string, critical: boolean): ChildStatus {
  const now = Date.now();
  return {
    id,
    module: `file:///actors/${id.split(":")[0]}/worker.ts`,
    state: "running",
    incarnation: 1,
    restarts: 0,
    restartsInWindow: 0,
    critical,
    restart: "permanent",
    dependsOn: [],
    startedAt: now - 60_000,
    readyAt: now - 59_000,
    lastHeartbeatAt: now - 400,
    heartbeatAgeMs: 400,
    newestDataAt: now - 900,
    freshnessMs: 30_000,
    freshnessLagMs: 900,
    stale: false,
    handled: 12_345,
    heapUsed: 8_000_000,
    counters: { "rejected.bad_frame": 2, "ws.frames": 12_000 },
    details: {},
    reason: null,
    lastError: null,
    nextRestartAt: null,
    restartsByCause: { crash: 1 },
    lease: null,
    singleton: null,
  };
}

/** A fixed view shaped like the real tree: 7 actors. */
function benchView(): SupervisorView {
  const children = [
    child("system_monitor", true),
    child("price_watchdog:btc", true),
    child("price_watchdog:eth", true),
    child("kalshi_market_watchdog", false),
    child("kalshi_account_sync:user_0001", false),
    child("strike_coordinator:btc", false),
    child("strike_coordinator:eth", false),
  ];
  return fixedView("bench", children, Date.now());
}

function rows(bench: string, target: string, r: LoadResult, note: string): BenchRow[] {
  if (r.failed > 0) {
    throw new Error(`${target}: ${r.failed} of ${r.latencies.length} requests failed`);
  }
  const ok = r.latencies.length;
  return [
    {
      bench,
      metric: `${target} req/s`,
      value: round((ok / r.wallMs) * 1000, 0),
      unit: "req/s",
      note,
    },
    { bench, metric: `${target} p50`, value: round(percentile(r.latencies, 50), 3), unit: "ms" },
    { bench, metric: `${target} p99`, value: round(percentile(r.latencies, 99), 3), unit: "ms" },
  ];
}

/** Runs the comparison; needs `DATABASE_URL`. */
export async function run(): Promise<BenchRow[]> {
  const url = Deno.env.get("DATABASE_URL");
  if (!url) throw new Error("Cannot run the http bench: DATABASE_URL is not set");
  const sql = createSql(url, { max: 10, applicationName: "recio-bench-http" });
  const app = createStatusApp({ view: benchView(), sql, version: "bench" });
  const appServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${appServer.addr.port}`;
  const sample = await (await fetch(`${base}/status`)).text();
  const raw = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(sample, { headers: { "content-type": "application/json" } }),
  );
  const rawBase = `http://127.0.0.1:${raw.addr.port}`;
  const note = `${REQUESTS} requests, concurrency ${CONCURRENCY}`;
  const out: BenchRow[] = [];
  try {
    for (
      const [target, u] of [
        ["app /status", `${base}/status`],
        ["raw Deno.serve (same body)", `${rawBase}/`],
        ["app /healthz", `${base}/healthz`],
      ] as const
    ) {
      await load(u, WARMUP);
      const body = target.endsWith("/healthz") ? "" : `, ${sample.length} B body`;
      out.push(...rows("http", target, await load(u, REQUESTS), note + body));
    }
  } finally {
    await appServer.shutdown();
    await raw.shutdown();
    await sql.end({ timeout: 2 });
  }
  return out;
}

if (import.meta.main) console.table(await run());
