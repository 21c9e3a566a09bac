/**
 * Price watchdog benchmark: frames/s parsed and aggregated in process; end-to-end rows/s from
 * the fake Coinbase through the actor into PostgreSQL; close-to-durable latency p50/p99 at a
 * live-like 50 frames/s and at saturation; and, in the same run, the raw PostgreSQL ceiling for
 * the same row shape (multi-row INSERT and COPY) and a single-row commit, so results are ratios.
 *
 * Latency is measured from the frame that closes a second (the first frame of a later second)
 * to the commit of that second's row: a second's row cannot be final before its second ends. The
 * store writes a row as soon as it is queued (batching only while a write is in flight), so at
 * live rates the target is close-to-durable p99 <= 100 ms, printed beside the single-row commit
 * floor of the same run. A session LISTENing on `recio_price_btc` measures the NOTIFY delivery:
 * after the writer saw its commit, and from the closing frame.
 *
 * Needs `DATABASE_URL`; works in its own scratch database. Run alone:
 * `DATABASE_URL=... deno run -A bench/price_watchdog.ts`.
 *
 * @module
 */
import { parseAdvancedFrame } from "../actors/price_watchdog/coinbase_frames.ts";
import { momentum, PriceHistory } from "../actors/price_watchdog/momentum.ts";
import { SecondBucket } from "../actors/price_watchdog/second_bucket.ts";
import { createPriceStore, type PriceRow } from "../actors/price_watchdog/store.ts";
import { systemClock } from "../lib/clock.ts";
import { createSql, type Sql } from "../lib/db.ts";
import { getLogger } from "../lib/log.ts";
import { parsePriceNotification, priceChannel } from "../lib/notify_channels.ts";
import { createTestDb, eventually } from "../tests/_db.ts";
import { hostWatchdog } from "../tests/_price_watchdog.ts";
import { FakeCoinbase } from "../tests/fakes/coinbase_server.ts";
import { ceilings, smallCopyP50 } from "./_price_ceilings.ts";
import { type BenchRow, percentile, round } from "./_stats.ts";

const BENCH = "price_watchdog";

/** Frame `i` of a ticker stream as the fake Coinbase sends it (Advanced Trade), at `timeMs`. */
function tickerFrame(i: number, timeMs: number): string {
  const price = (68_000 + (i % 500) / 10).toFixed(2);
  return JSON.stringify({
    channel: "ticker",
    client_id: "",
    timestamp: new Date(timeMs).toISOString(),
    sequence_num: i,
    events: [{
      type: "update",
      tickers: [{
        type: "ticker",
        product_id: "BTC-USD",
        price,
        volume_24_h: "15328.12345678",
        low_24_h: price,
        high_24_h: price,
        low_52_w: price,
        high_52_w: price,
        price_percent_chg_24_h: "0.5",
        best_bid: price,
        best_bid_quantity: "1.5",
        best_ask: price,
        best_ask_quantity: "0.5",
      }],
    }],
  });
}

/** Frames/s through parse → per-second bucket → deltas/momentum, in process. */
function parseAndAggregate(n: number): number {
  const t0 = Date.UTC(2026, 0, 1);
  const frames: string[] = [];
  for (let i = 0; i < n; i++) {
    frames.push(tickerFrame(i, t0 + i * 250)); // four trades per second
  }
  const bucket = new SecondBucket();
  const history = new PriceHistory();
  let rows = 0;
  const start = performance.now();
  for (const f of frames) {
    for (const it of parseAdvancedFrame(f, "BTC-USD").items) {
      if (it.kind !== "tick") continue;
      const r = bucket.offer({ timeMs: it.timeMs, price: it.price, receivedMs: 0 });
      if (r.accepted && r.emitted) {
        const p = Number(r.emitted.price);
        const d = history.deltas(r.emitted.secondMs, p);
        momentum(d);
        history.add(r.emitted.secondMs, p);
        rows++;
      }
    }
  }
  const s = (performance.now() - start) / 1000;
  if (rows < n / 4 - 1) throw new Error(`bench broken: ${rows} rows from ${n} frames`);
  return n / s;
}

/**
 * Rows/s through the store's own flush path alone (no feed, no parsing): `n` rows of the same
 * shape as the ceilings enqueued at once, timed until drained, in the actor's batch size.
 */
async function storeOnly(
  sql: Sql,
  n: number,
  maxBatch: number,
  bulk?: () => Sql,
): Promise<number> {
  const t0 = Date.UTC(2026, 0, 1);
  const make = (count: number, from: number): PriceRow[] =>
    Array.from({ length: count }, (_, i) => ({
      secondMs: from + i * 1000,
      price: (68_000 + (i % 500) / 10).toFixed(2),
      receivedMs: Date.now(),
      momentum: 0.012345,
      deltas: [0.01, 0.02, 0.03, 0.04, 0.15, null],
    }));
  const rows = make(n, t0);
  const store = createPriceStore({
    sql,
    symbol: "eth",
    clock: systemClock,
    log: getLogger("bench", "price_store"),
    count: () => {},
    gauge: () => {},
    flushMs: 250,
    maxBatch,
    bufferRows: n,
    ...(bulk ? { bulk } : {}),
  });
  store.start();
  // Warm-up backlog (a day earlier): opens the pools and prepares the statements, as the ceilings
  // run on connections already open.
  for (const r of make(3 * maxBatch, t0 - 86_400_000)) store.enqueue(r);
  if (!(await store.drain(60_000))) throw new Error("bench broken: warm-up did not drain");
  await sql`truncate live_data.eth_price_log`;
  const start = performance.now();
  for (const r of rows) store.enqueue(r);
  if (!(await store.drain(60_000))) throw new Error("bench broken: store did not drain");
  const rps = n / ((performance.now() - start) / 1000);
  await store.close(1_000);
  const written = await sql<{ count: number }[]>`
    select count(*)::int as count from live_data.eth_price_log`;
  const count = written[0]?.count;
  if (count !== n) throw new Error(`bench broken: ${count} of ${n} rows written`);
  return rps;
}

/**
 * The delivery ceiling of the e2e run: frames/s of a bare local WebSocket in this process, the
 * server serialising a ticker frame of the fake's shape per message and the client only counting
 * them (no parsing, no actor, no database).
 */
async function wsDelivery(n: number): Promise<number> {
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: () => {},
  }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => {
      const t0 = Date.UTC(2026, 0, 1);
      for (let i = 0; i < n; i++) {
        socket.send(tickerFrame(i, t0 + i * 1000));
      }
    };
    return response;
  });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    const start = performance.now();
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      ws.onerror = () => reject(new Error("bench broken: websocket error"));
      ws.onmessage = () => {
        if (++got === n) resolve();
      };
    });
    const fps = n / ((performance.now() - start) / 1000);
    ws.close();
    return fps;
  } finally {
    ac.abort();
    await server.finished;
  }
}

/** Single-row commits into `live_data.eth_price_log` at `rate` per second until stopped. */
function commitProbe(url: string, rate: number) {
  const sql = createSql(url, { max: 1, noDelay: true });
  const times: number[] = [];
  let running = true;
  const done = (async () => {
    await sql`truncate live_data.eth_price_log`;
    const t0 = Date.UTC(2026, 0, 1);
    const start = performance.now();
    for (let i = 0; running; i++) {
      const s = performance.now();
      await sql`insert into live_data.eth_price_log ("timestamp", price, received_at)
        values (${new Date(t0 + i * 1000)}, 1, now())`;
      times.push(performance.now() - s);
      const wait = start + ((i + 1) * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    async stop(): Promise<number[]> {
      running = false;
      await done;
      await sql.end();
      return times.sort((a, b) => a - b);
    },
  };
}

/**
 * Sends ticks one second of exchange time apart; returns per-row close-to-durable latencies and,
 * from a session LISTENing on `recio_price_btc`, when each write's notification arrived: after
 * the writer saw its commit (the notification is sent at commit, so it may even arrive first:
 * negative) and after the frame that closed its newest second.
 */
async function endToEnd(url: string, sql: Sql, options: { n: number; rate: number | null }) {
  await sql`truncate live_data.btc_price_log`;
  await using fake = new FakeCoinbase();
  const listener = createSql(url, { max: 1, noDelay: true });
  const heard = new Map<number, number>();
  await listener.listen(priceChannel("btc"), (payload) => {
    const at = performance.now();
    const n = parsePriceNotification(payload);
    if (!n) throw new Error(`bench broken: payload ${payload}`);
    heard.set(Date.parse(n.timestamp), at);
  });
  const w = await hostWatchdog({
    sql,
    bulk: () => createSql(url, { max: 1, noDelay: true }),
    args: {
      symbol: "BTC",
      wsUrl: fake.advancedUrl,
      restUrl: fake.restUrl,
      flushMs: 250,
      maxBatch: 1000,
      bufferRows: Math.max(3600, options.n * 2),
    },
  });
  try {
    await eventually(() => fake.subscribers() === 1);
    // At live rates, the commit floor under the same conditions: single-row commits at the same
    // rate on another session into another table, for as long as the run (stalls of the
    // database, e.g. other work's fsyncs, show in both).
    const probe = options.rate ? commitProbe(url, options.rate) : undefined;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - (options.n + 10) * 1000;
    const sentAt: number[] = [];
    const start = performance.now();
    for (let i = 0; i <= options.n; i++) {
      sentAt.push(performance.now());
      fake.tick({ timeMs: t0 + i * 1000, price: (68_000 + (i % 500) / 10).toFixed(2) });
      if (options.rate) {
        const due = start + ((i + 1) * 1000) / options.rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
    // Frame n closes row n-1; row n stays open (not counted).
    await eventually(() => w.durable.length >= options.n, { timeoutMs: 120_000 });
    const elapsed = (performance.now() - start) / 1000;
    const rows = w.durable.slice(0, options.n);
    const closedAt = (secondMs: number) => sentAt[Math.round((secondMs - t0) / 1000) + 1]!;
    const lat = rows.map(({ row, at }) => at - closedAt(row.secondMs)).sort((a, b) => a - b);
    // Each write announces its newest second: one notification per write.
    const newest = new Map<number, number>(); // durable time -> newest second of that write
    for (const { row, at } of rows) newest.set(at, Math.max(newest.get(at) ?? 0, row.secondMs));
    await eventually(() => [...newest.values()].every((t) => heard.has(t)), {
      timeoutMs: 30_000,
      message: "bench broken: a committed write was not announced",
    });
    const afterCommit = [...newest].map(([at, t]) => heard.get(t)! - at).sort((a, b) => a - b);
    const closeToHeard = [...newest.values()].map((t) => heard.get(t)! - closedAt(t))
      .sort((a, b) => a - b);
    const floor = await probe?.stop();
    return {
      floorP50: floor ? percentile(floor, 50) : NaN,
      floorP99: floor ? percentile(floor, 99) : NaN,
      rowsPerSec: options.n / elapsed,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      writes: newest.size,
      notifyP50: percentile(afterCommit, 50),
      notifyP99: percentile(afterCommit, 99),
      heardP50: percentile(closeToHeard, 50),
      heardP99: percentile(closeToHeard, 99),
    };
  } finally {
    await w.stop();
    await listener.end();
  }
}

/** Runs the benchmark. */
export async function run(): Promise<BenchRow[]> {
  await using db = await createTestDb();
  const out: BenchRow[] = [];
  const add = (metric: string, value: number, unit: string, note?: string) =>
    out.push({ bench: BENCH, metric, value: round(value, 2), unit, ...(note ? { note } : {}) });

  parseAndAggregate(20_000); // warm-up
  const fps = parseAndAggregate(200_000);
  add("parse_aggregate", fps, "frames/s", "target >= 100000");

  const bulk = () => createSql(db.url, { max: 1, noDelay: true });
  const fast = bulk();
  const ceil = await ceilings(db.sql, fast, 50_000);
  add("pg_small_copy_p50_default", await smallCopyP50(db.sql), "ms", "2-row COPY, Nagle on");
  add("pg_small_copy_p50_nodelay", await smallCopyP50(fast), "ms", "2-row COPY, TCP_NODELAY");
  await fast.end();
  add("pg_multirow_insert", ceil.insertRps, "rows/s", "1000-row INSERT ... ON CONFLICT DO NOTHING");
  add("pg_copy", ceil.copyRps, "rows/s", "one 50k-row COPY FROM STDIN, best of 4");
  add("pg_single_row_commit_p50", ceil.singleP50, "ms");
  add("pg_single_row_commit_p99", ceil.singleP99, "ms");

  const unnest = await storeOnly(db.sql, 50_000, 1000);
  add("store_rows_unnest_only", unnest, "rows/s", "store without its bulk pool (unnest path)");
  for (const batch of [500, 1000]) {
    const rps = await storeOnly(db.sql, 50_000, batch, bulk);
    add(`store_rows_batch${batch}`, rps, "rows/s", "store flush path as the actor runs it");
    add(`store_vs_copy_batch${batch}`, rps / ceil.copyRps, "ratio", "target >= 0.5");
  }

  const sat = await endToEnd(db.url, db.sql, { n: 20_000, rate: null });
  add("e2e_rows", sat.rowsPerSec, "rows/s", "fake WS -> actor -> PostgreSQL, one row per frame");
  add(
    "e2e_vs_copy",
    sat.rowsPerSec / ceil.copyRps,
    "ratio",
    "one frame per row, bound by per-frame handling (receive, parse, aggregate) on one thread and the last flush interval of the burst; the write target is store_vs_copy",
  );
  add("e2e_vs_multirow_insert", sat.rowsPerSec / ceil.insertRps, "ratio");
  const delivery = await wsDelivery(20_000);
  add("ws_delivery", delivery, "frames/s", "bare local WebSocket, same frames, no processing");
  add("e2e_vs_ws_delivery", sat.rowsPerSec / delivery, "ratio", "share of the delivery ceiling");
  add("close_to_durable_p50_saturation", sat.p50, "ms");
  add("close_to_durable_p99_saturation", sat.p99, "ms");

  const live = await endToEnd(db.url, db.sql, { n: 500, rate: 50 });
  const floor = `single-row commit p50 ${round(ceil.singleP50, 2)} ms, p99 ${
    round(ceil.singleP99, 2)
  } ms alone; p50 ${round(live.floorP50, 2)} ms, p99 ${round(live.floorP99, 2)} ms beside this run`;
  add("close_to_durable_p50_50fps", live.p50, "ms", floor);
  add("close_to_durable_p99_50fps", live.p99, "ms", `target <= 100 ms; ${floor}`);
  add(
    "close_to_durable_writes_50fps",
    live.writes,
    "writes",
    "for 500 rows: one write per row at live rates",
  );
  add(
    "notify_after_commit_p50_50fps",
    live.notifyP50,
    "ms",
    "a LISTENing session receives the write's NOTIFY, after the writer saw the commit (< 0: first)",
  );
  add("notify_after_commit_p99_50fps", live.notifyP99, "ms");
  add("close_to_notified_p50_50fps", live.heardP50, "ms", "closing frame -> LISTENer notified");
  add("close_to_notified_p99_50fps", live.heardP99, "ms");
  return out;
}

if (import.meta.main) {
  const rows = await run();
  console.table(rows);
}
