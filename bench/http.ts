/**
 * Status API throughput under an external load generator (`wrk`, see `_wrk.ts`), in one run:
 *
 * - the app's `GET /status` and `GET /healthz`, served as `supervisor/main.ts` serves them
 *   (`createStatusApp` behind `serveGuarded`, over the realistic view of `_status_server.ts`:
 *   the default tree's children, jobs, the cluster document and a real database);
 * - the ceiling: a raw `Deno.serve` on TCP answering the bytes of that same `/status` body
 *   (fetched once from the app), with the same content type;
 * - the guard alone: that raw handler behind `serveGuarded`, so the relay's own cost shows.
 *
 * Targets run interleaved, `ROUNDS` times each after a warm-up, and each reports its best round
 * (the machine is shared: the best round is the one least disturbed). Ratios are of req/s:
 * app `/status` ÷ raw (target >= 0.8) and guard-only ÷ raw. Without `wrk` (not on `PATH` and
 * not installable) one row says so and the bench returns without failing the others.
 *
 * Where the time went (CPU profile of the server under `wrk`, before `supervisor/status_doc.ts`):
 * `/status` answered about 1,100 req/s with the event loop 44% idle: each request waited for
 * three database round trips in a row (ping, health row, cluster document: 0.16-0.27 ms each)
 * and spent about 0.5 ms of CPU, 90% of it in the jobs' next cron times (`scheduler.jobs()`
 * parses each job's cron expression on every call); `JSON.stringify` was 16 us, the children
 * 3 us. Now the document is built at most every 250 ms and `/status` costs what the guard costs.
 * The guard's own time is the relay itself (one more read and write each way in JS plus the Unix
 * socket). On the main thread it bounded `/status` at 0.67-0.74 of raw (guard alone 0.67-0.79 in
 * the same runs); the relay now runs in a worker (`http_guard_worker.ts`), its reads and writes in
 * parallel with the handlers, with one watch timer for all connections and no header scan for a
 * read that ends with its headers: 0.84-0.88 (guard alone 0.79-0.80) on an idle machine.
 *
 * @module
 */
import { type GuardedServer, serveGuarded } from "../supervisor/http_guard.ts";
import { type BenchRow, round } from "./_stats.ts";
import { startStatusFixture } from "./_status_server.ts";
import { findWrk, runWrk, type WrkLoad, type WrkResult } from "./_wrk.ts";

const B = "http";
const LOAD: WrkLoad = { threads: 2, connections: 50, seconds: 5 };
const WARMUP: WrkLoad = { threads: 2, connections: 50, seconds: 1 };
const ROUNDS = 3;
/** The ratio app `/status` ÷ raw `Deno.serve` the status server should reach. */
const TARGET = 0.8;

interface Target {
  name: string;
  url: string;
}

/** Runs every target `ROUNDS` times, interleaved; the best round of each by req/s. */
async function measure(wrk: string, targets: Target[]): Promise<Map<string, WrkResult>> {
  for (const t of targets) await runWrk(wrk, t.url, WARMUP);
  const best = new Map<string, WrkResult>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const r = await runWrk(wrk, t.url, LOAD);
      if (r.non2xx > 0) {
        throw new Error(`${t.name}: ${r.non2xx} of ${r.requests} responses were not 2xx`);
      }
      const prev = best.get(t.name);
      if (!prev || r.reqPerSec > prev.reqPerSec) best.set(t.name, r);
    }
  }
  return best;
}

function rowsOf(name: string, r: WrkResult, note: string): BenchRow[] {
  const errors = r.socketErrors > 0 ? `, ${r.socketErrors} socket errors` : "";
  return [
    {
      bench: B,
      metric: `${name} req/s`,
      value: round(r.reqPerSec, 0),
      unit: "req/s",
      note: note + errors,
    },
    { bench: B, metric: `${name} p50`, value: round(r.p50Ms, 3), unit: "ms" },
    { bench: B, metric: `${name} p99`, value: round(r.p99Ms, 3), unit: "ms" },
  ];
}

/** Runs the comparison; needs `DATABASE_URL` (a fresh database is made in it). */
export async function run(): Promise<BenchRow[]> {
  const wrk = await findWrk();
  if ("missing" in wrk) {
    return [{
      bench: B,
      metric: "skipped: no load generator",
      value: 0,
      unit: "",
      note: wrk.missing,
    }];
  }
  const fixture = await startStatusFixture();
  const servers: (GuardedServer | Deno.HttpServer)[] = [];
  try {
    const res = await fetch(`${fixture.base}/status`);
    const body = new Uint8Array(await res.arrayBuffer());
    const type = res.headers.get("content-type") ?? "application/json";
    const answer = () => new Response(body, { headers: { "content-type": type } });
    const raw = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, answer);
    servers.push(raw);
    const guarded = await serveGuarded(answer, { hostname: "127.0.0.1", port: 0 });
    servers.push(guarded);
    const targets: Target[] = [
      { name: "app /status", url: `${fixture.base}/status` },
      { name: "raw Deno.serve (same body)", url: `http://127.0.0.1:${raw.addr.port}/` },
      { name: "guard + raw handler", url: `http://127.0.0.1:${guarded.addr.port}/` },
      { name: "app /healthz", url: `${fixture.base}/healthz` },
    ];
    const load = round(Deno.loadavg()[0] ?? NaN, 2);
    const best = await measure(wrk.path, targets);
    const how = `wrk -t${LOAD.threads} -c${LOAD.connections} -d${LOAD.seconds}s, best of ` +
      `${ROUNDS} interleaved rounds, load average ${load} at start`;
    const out: BenchRow[] = [];
    for (const t of targets) {
      const size = t.name.endsWith("/healthz") ? "" : `, ${body.length} B body`;
      out.push(...rowsOf(t.name, best.get(t.name)!, how + size));
    }
    const rps = (name: string) => best.get(name)!.reqPerSec;
    const ceiling = rps("raw Deno.serve (same body)");
    out.push(
      {
        bench: B,
        metric: "app /status ÷ raw Deno.serve",
        value: round(rps("app /status") / ceiling, 3),
        unit: "ratio",
        note: `target >= ${TARGET}`,
      },
      {
        bench: B,
        metric: "guard + raw handler ÷ raw Deno.serve",
        value: round(rps("guard + raw handler") / ceiling, 3),
        unit: "ratio",
        note: "the guard's own cost (supervisor/http_guard.ts)",
      },
    );
    return out;
  } finally {
    for (const s of servers) await s.shutdown();
    await fixture.close();
  }
}

if (import.meta.main) console.table(await run());
