/**
 * Raw PostgreSQL ceilings for the price-log row shape, measured in the price watchdog benchmark's
 * run (`bench/price_watchdog.ts`): a 1000-row multi-row INSERT, COPY FROM STDIN, a single-row
 * commit (the floor of a live write), and a two-row COPY round trip with and without TCP_NODELAY.
 *
 * @module
 */
import type { Sql } from "../lib/db.ts";
import { percentile } from "./_stats.ts";

/** Rows of the price log's shape, one second apart from `t0`. */
export function shapeRows(n: number, t0: number) {
  return Array.from({ length: n }, (_, i) => ({
    timestamp: new Date(t0 + i * 1000),
    price: (68_000 + (i % 500) / 10).toFixed(2),
    momentum: "0.012345",
    delta_1m: "0.010000",
    delta_2m: "0.020000",
    delta_3m: "0.030000",
    delta_4m: "0.040000",
    delta_15m: "0.150000",
    delta_30m: null,
    received_at: new Date(),
  }));
}

/** Rows/s of one COPY FROM STDIN of `rows` into an emptied `live_data.eth_price_log`. */
export async function copyOnce(sql: Sql, rows: ReturnType<typeof shapeRows>): Promise<number> {
  await sql`truncate live_data.eth_price_log`;
  const start = performance.now();
  const writable = await sql`copy live_data.eth_price_log ("timestamp", price, momentum,
    delta_1m, delta_2m, delta_3m, delta_4m, delta_15m, delta_30m, received_at) from stdin`
    .writable();
  const enc = new TextEncoder();
  const write = (chunk: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      writable.write(chunk, (e?: Error | null) => (e ? reject(e) : resolve()))
    );
  let buf = "";
  for (const r of rows) {
    buf +=
      `${r.timestamp.toISOString()}\t${r.price}\t${r.momentum}\t${r.delta_1m}\t${r.delta_2m}\t` +
      `${r.delta_3m}\t${r.delta_4m}\t${r.delta_15m}\t\\N\t${r.received_at.toISOString()}\n`;
    if (buf.length > 64_000) {
      await write(enc.encode(buf));
      buf = "";
    }
  }
  if (buf) await write(enc.encode(buf));
  await new Promise<void>((resolve, reject) => {
    writable.on("finish", () => resolve());
    writable.on("error", reject);
    writable.end();
  });
  const rps = rows.length / ((performance.now() - start) / 1000);
  const counted = await sql<{ count: number }[]>`
    select count(*)::int as count from live_data.eth_price_log`;
  const count = counted[0]?.count;
  if (count !== rows.length) throw new Error(`bench broken: COPY wrote ${count} rows`);
  return rps;
}

/**
 * p50 of a two-row COPY FROM STDIN round trip on `sql` (into a temporary table): shows the
 * delayed-ACK stall of a connection without TCP_NODELAY, which the store's bulk pool avoids.
 */
export async function smallCopyP50(sql: Sql): Promise<number> {
  const times: number[] = [];
  await sql.begin(async (tx) => {
    await tx`create temp table small_copy (a int) on commit drop`;
    for (let i = 0; i < 15; i++) {
      const start = performance.now();
      const w = await tx`copy small_copy from stdin`.writable();
      await new Promise<void>((resolve, reject) => {
        w.on("error", reject);
        w.on("finish", resolve);
        w.write(new TextEncoder().encode("1\n2\n"));
        w.end();
      });
      times.push(performance.now() - start);
    }
  });
  times.sort((a, b) => a - b);
  return percentile(times, 50);
}

/** Raw PostgreSQL ceilings for the price-log row shape (into `live_data.eth_price_log`). */
export async function ceilings(sql: Sql, fast: Sql, n: number) {
  const t0 = Date.UTC(2026, 0, 1);
  const rows = shapeRows(n, t0);
  await sql`truncate live_data.eth_price_log`;
  const start = performance.now();
  for (let i = 0; i < n; i += 1000) {
    await sql`insert into live_data.eth_price_log ${sql(rows.slice(i, i + 1000))}
      on conflict ("timestamp") do nothing`;
  }
  const insertRps = n / ((performance.now() - start) / 1000);

  // COPY on the pool's own connection and on one with TCP_NODELAY, twice each: the ceiling is
  // the best of the four.
  let copyRps = 0;
  for (let rep = 0; rep < 2; rep++) {
    for (const pool of [sql, fast]) copyRps = Math.max(copyRps, await copyOnce(pool, rows));
  }

  await sql`truncate live_data.eth_price_log`;
  const single: number[] = [];
  const one = shapeRows(300, t0);
  for (const r of one) {
    const s = performance.now();
    await sql`insert into live_data.eth_price_log ${sql(r)} on conflict ("timestamp") do nothing`;
    single.push(performance.now() - s);
  }
  single.sort((a, b) => a - b);
  return {
    insertRps,
    copyRps,
    singleP50: percentile(single, 50),
    singleP99: percentile(single, 99),
  };
}
