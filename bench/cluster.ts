/**
 * Cluster mode benchmarks (issue 15's targets), each printed beside its anchor or ceiling:
 *
 * - Lease overhead at idle: two real lease managers (`supervisor/leases.ts`, default timing)
 *   on a fresh database for 10 s; their cycles per second, and the queries the driver actually
 *   sent (postgres.js `debug` hook), per node.
 * - The fence's cost per write: the same price-log insert (1 and 50 rows) with and without the
 *   proof of the grant, as a transaction (`fence(tx, grant)` first: one more statement) and as
 *   one statement (`fenceCondition`), p50/p99 and the ratio with/without, interleaved.
 * - Takeover after SIGKILL of the holder until the standby's first row is durable, over 20 kills
 *   of two real supervisor processes (`_cluster_procs.ts`), beside Kubernetes' 15-20 s and
 *   Quartz's 15-22 s (`cluster-anchors.md`) and the target p99 <= 5 s.
 * - Handover on SIGTERM over 10 handovers: the received_at gap between the holders' rows beside
 *   the normal cadence of one writer's rows (1 s, measured in the same run), and the seconds
 *   missing over the whole run (target 0).
 *
 * Needs `DATABASE_URL` (`bench/run.ts` sets the embedded one when unset); works in scratch
 * databases. Alone: `DATABASE_URL=... deno run -A bench/cluster.ts`.
 *
 * @module
 */
import postgres from "postgres";
import { systemClock } from "../lib/clock.ts";
import { DEFAULT_TIMING } from "../lib/cluster.ts";
import type { Sql } from "../lib/db.ts";
import { fence, fenceCondition, type LeaseGrant } from "../lib/fence.ts";
import { LeaseManager } from "../supervisor/leases.ts";
import { registerNode } from "../supervisor/nodes.ts";
import { createTestDb } from "../tests/_db.ts";
import { finish, handoverRounds, killRounds, Pair, POLL_MS } from "./_cluster_procs.ts";
import { type BenchRow, percentile, round } from "./_stats.ts";

const B = "cluster";
/** Singletons of a default deployment; a cycle is one round trip whatever their number. */
const WANTED = [
  "price_watchdog:btc",
  "price_watchdog:eth",
  "kalshi_market_watchdog",
  "strike_coordinator:btc",
];
const IDLE_MS = 10_000;
const WRITES = 1500;
const KILLS = 20;
const HANDOVERS = 10;

const signed = (ms: number) => `${ms >= 0 ? "+" : ""}${round(ms, 3)}`;

/** A lease manager on its own pool, counting every query the driver sends. */
async function manager(url: string, node: string) {
  const counter = { queries: 0 };
  const sql = postgres(url, {
    max: 2,
    onnotice: () => {},
    types: {},
    debug: () => void counter.queries++,
  }) as unknown as Sql;
  const instance = crypto.randomUUID();
  const timing = DEFAULT_TIMING;
  await registerNode(sql, {
    node,
    instance,
    pid: Deno.pid,
    candidates: WANTED,
    nodeTtlMs: timing.nodeTtlMs,
    clock: systemClock,
  });
  const m = new LeaseManager({
    sql,
    node,
    instance,
    wanted: WANTED,
    timing,
    clock: systemClock,
    onChange: () => {},
    onNodeLost: () => {},
  });
  return { m, sql, counter };
}

type Manager = Awaited<ReturnType<typeof manager>>;

/** Cycles and driver queries per second of each node over `ms` of idling. */
async function idle(nodes: Manager[], ms: number): Promise<{ cycles: number; queries: number }[]> {
  const before = nodes.map((n) => ({ c: n.m.stats.cycles, q: n.counter.queries }));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const s = (performance.now() - t0) / 1000;
  return nodes.map((n, i) => ({
    cycles: (n.m.stats.cycles - before[i]!.c) / s,
    queries: (n.counter.queries - before[i]!.q) / s,
  }));
}

/** One price-log write of `rows` rows from second `t` (ms), fenced by `grant` or not. */
function writer(sql: Sql) {
  const columns = (t: number, rows: number) => {
    const ts = Array.from({ length: rows }, (_, i) => String(t + i * 1000));
    const ps = Array.from({ length: rows }, (_, i) => (60_000 + i / 100).toFixed(2));
    return { ts, ps, r: String(Date.now()) };
  };
  const select = (q: Sql, t: number, rows: number, cond: ReturnType<typeof fenceCondition>) => {
    const c = columns(t, rows);
    return q`select timestamptz 'epoch' + u.t * interval '1 millisecond', u.p,
        timestamptz 'epoch' + ${c.r}::int8 * interval '1 millisecond'
      from unnest(${c.ts}::int8[], ${c.ps}::numeric[]) as u(t, p) where ${cond}`;
  };
  return {
    /** begin; [fence;] insert; commit. */
    tx: (t: number, rows: number, grant?: LeaseGrant) =>
      sql.begin(async (tx) => {
        await fence(tx, grant);
        const q = tx as unknown as Sql;
        await q`insert into live_data.btc_price_log ("timestamp", price, received_at)
          ${select(q, t, rows, q`true`)}`;
      }),
    /** One statement, the fence as its WHERE condition (the live flush's form). */
    stmt: (t: number, rows: number, grant?: LeaseGrant) =>
      sql`insert into live_data.btc_price_log ("timestamp", price, received_at)
        ${select(sql, t, rows, fenceCondition(sql, grant))}`,
  };
}

/** Latencies of every (form, rows, fenced) variant, interleaved over `n` iterations. */
async function fenceCost(sql: Sql, grant: LeaseGrant, n: number) {
  const w = writer(sql);
  const variants = (["tx", "stmt"] as const).flatMap((form) =>
    [1, 50].flatMap((rows) =>
      [false, true].map((fenced) => ({ form, rows, fenced, ms: [] as number[] }))
    )
  );
  let t = Date.UTC(2031, 0, 1);
  for (let i = -50; i < n; i++) {
    const order = i % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const t0 = performance.now();
      await w[v.form](t, v.rows, v.fenced ? grant : undefined);
      if (i >= 0) v.ms.push(performance.now() - t0);
      t += v.rows * 1000;
    }
  }
  return variants;
}

async function leaseOverhead(rows: BenchRow[]): Promise<void> {
  await using db = await createTestDb();
  const nodes = [await manager(db.url, "bench-a"), await manager(db.url, "bench-b")];
  try {
    for (const n of nodes) await n.m.start();
    const rates = await idle(nodes, IDLE_MS);
    const t = DEFAULT_TIMING;
    const roles = ["holder", "standby"];
    rates.forEach((r, i) =>
      rows.push({
        bench: B,
        metric: `lease_queries_per_s_idle_${roles[i]}`,
        value: round(r.queries),
        unit: "queries/s",
        note: `${round(r.cycles)} cycles/s (stats.cycles), ${WANTED.length} leases wanted, ` +
          `renew every ${t.renewEveryMs} ms: ceiling ${1000 / t.renewEveryMs}/s; ${
            IDLE_MS / 1000
          } s`,
      })
    );
    const grant = nodes[0]!.m.grant(WANTED[0]!);
    if (!grant) throw new Error("the first lease manager holds no grant");
    const variants = await fenceCost(db.sql, grant, WRITES);
    for (const v of variants.filter((x) => x.fenced)) {
      const base = variants.find((x) => !x.fenced && x.form === v.form && x.rows === v.rows)!;
      const name = `fence_${v.form}_${v.rows}row${v.rows > 1 ? "s" : ""}`;
      const how = v.form === "tx"
        ? "begin; fence(tx, grant); insert; commit vs the same without fence"
        : "one insert ... where fenceCondition vs where true";
      for (const p of [50, 99]) {
        const without = percentile(base.ms, p);
        const withFence = percentile(v.ms, p);
        rows.push(
          {
            bench: B,
            metric: `${name}_p${p}_without`,
            value: round(without, 3),
            unit: "ms",
            ...(p === 50 ? { note: `${how}; n=${WRITES} each, interleaved` } : {}),
          },
          { bench: B, metric: `${name}_p${p}_with`, value: round(withFence, 3), unit: "ms" },
          {
            bench: B,
            metric: `${name}_ratio_p${p}`,
            value: round(withFence / without, 3),
            unit: "ratio",
            note: `with / without; ${signed(withFence - without)} ms`,
          },
        );
      }
    }
  } finally {
    for (const n of nodes) {
      await n.m.stop();
      await n.sql.end({ timeout: 1 });
    }
  }
}

/** p50 and p99 rows of `values` (ms). */
function spread(name: string, values: number[], p99Note: string, p50Note?: string): BenchRow[] {
  return [
    {
      bench: B,
      metric: `${name}_p50`,
      value: round(percentile(values, 50), 0),
      unit: "ms",
      ...(p50Note ? { note: p50Note } : {}),
    },
    {
      bench: B,
      metric: `${name}_p99`,
      value: round(percentile(values, 99), 0),
      unit: "ms",
      note: p99Note,
    },
  ];
}

async function processes(rows: BenchRow[]): Promise<void> {
  await using db = await createTestDb();
  await using pair = new Pair(db.url, db.sql);
  await pair.start();
  const t0 = performance.now();
  const kills = await killRounds(pair, KILLS);
  const killSecs = (performance.now() - t0) / 1000;
  const t = DEFAULT_TIMING;
  rows.push(
    ...spread(
      "takeover_sigkill_lease_moved",
      kills.map((k) => k.leaseMs),
      `bound leaseMs + acquireEveryMs = ${t.leaseMs + t.acquireEveryMs} ms`,
      `SIGKILL of the holder -> system.leases names the standby; n=${KILLS}`,
    ),
    ...spread(
      "takeover_sigkill_first_row",
      kills.map((k) => k.rowMs),
      "target <= 5000 ms; Kubernetes 15000-20000 ms, Quartz 15000-22000 ms (cluster-anchors.md)",
      `SIGKILL -> first row of the standby seen committed (time the ${POLL_MS} ms poll that saw ` +
        `it was sent); n=${KILLS} kills alternating 2 processes, ${round(killSecs, 0)} s`,
    ),
    {
      bench: B,
      metric: "takeover_sigkill_first_row_max",
      value: round(Math.max(...kills.map((k) => k.rowMs)), 0),
      unit: "ms",
    },
    {
      bench: B,
      metric: "takeover_lease_to_first_row_max",
      value: round(Math.max(...kills.map((k) => k.rowMs - k.leaseMs)), 0),
      unit: "ms",
      note: "the standby's own part (0: seen in the same poll as the lease move)",
    },
  );
  const handovers = await handoverRounds(pair, db.sql, HANDOVERS);
  const totals = await finish(pair, db.sql);
  rows.push(
    ...spread(
      "handover_sigterm_gap",
      handovers.map((h) => h.gapMs),
      `ceiling: normal row cadence 1000 ms (p99 measured ${
        round(percentile(totals.cadenceMs, 99), 0)
      } ms, below)`,
      `received_at of the next holder's first row - the last holder's last; n=${HANDOVERS}`,
    ),
    ...spread(
      "handover_sigterm_first_row",
      handovers.map((h) => h.firstRowMs),
      "SIGTERM -> the next holder's first row seen committed",
    ),
    {
      bench: B,
      metric: "handover_seconds_skipped",
      value: handovers.reduce((a, h) => a + h.skipped, 0),
      unit: "s",
      note: "seconds between the two holders' rows, all handovers; target 0",
    },
    ...spread(
      "row_cadence",
      totals.cadenceMs,
      "the ceiling of the handover gap",
      `received_at step between consecutive seconds of one writer, whole run; n=${totals.cadenceMs.length}`,
    ),
    {
      bench: B,
      metric: "row_cadence_max",
      value: round(Math.max(...totals.cadenceMs), 0),
      unit: "ms",
    },
    {
      bench: B,
      metric: "missing_seconds_whole_run",
      value: totals.missing,
      unit: "s",
      note: `${KILLS} SIGKILLs + ${HANDOVERS} SIGTERMs, ${totals.rows} rows; target 0`,
    },
  );
}

/** Runs the cluster benchmarks. */
export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  await leaseOverhead(rows);
  await processes(rows);
  return rows;
}

if (import.meta.main) {
  console.table(await run());
}
