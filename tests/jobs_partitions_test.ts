/**
 * Partition maintenance and retention against a real PostgreSQL database: partitions created
 * ahead, rows moved out of default partitions without losing one, exactly the expired
 * partitions dropped and recorded, default partitions never dropped.
 */
import assert from "node:assert/strict";
import type { Sql } from "../lib/db.ts";
import {
  ensureMonthPartitions,
  monthStartUtc,
  timePartitionedTables,
} from "../actors/jobs/_partitions.ts";
import { maintainPartitions } from "../actors/jobs/partition_maintenance/mod.ts";
import { applyRetention, retentionCutoff } from "../actors/jobs/retention/mod.ts";
import { createTestDb } from "./_db.ts";

const LIVE_TABLES = [
  "btc_price_log",
  "eth_price_log",
  "kalshi_market_history",
  "strike_table_history",
];

async function partitions(sql: Sql, parent: string) {
  return await sql<
    { partition: string; is_default: boolean; range_from: Date | null; range_to: Date | null }[]
  >`
    select partition, is_default, range_from, range_to from system.time_partitions
     where parent_schema = 'live_data' and parent = ${parent} order by range_from nulls first`;
}

async function insertPrices(sql: Sql, isoTimes: string[]): Promise<void> {
  const rows = isoTimes.map((t, i) => ({ timestamp: new Date(t), price: `${100 + i}.12345678` }));
  await sql`insert into live_data.btc_price_log ${sql(rows, "timestamp", "price")}`;
}

/** Rows in one table of live_data. */
async function rowsIn(sql: Sql, table: string): Promise<number> {
  const [r] = await sql<{ n: string }[]>`select count(*) as n from live_data.${sql(table)}`;
  return Number(r?.n);
}

/** Count and a digest of every row (ids included), in key order. */
async function fingerprint(sql: Sql) {
  const [r] = await sql<{ n: string; digest: string | null }[]>`
    select count(*) as n, md5(string_agg(t::text, '|' order by t."timestamp")) as digest
      from live_data.btc_price_log t`;
  return { n: Number(r!.n), digest: r!.digest };
}

Deno.test("monthStartUtc() gives the first instant of a month offset from the given one", () => {
  const mid = Date.UTC(2026, 10, 24, 8, 7);
  assert.equal(monthStartUtc(mid), Date.UTC(2026, 10, 1));
  assert.equal(monthStartUtc(mid, 3), Date.UTC(2027, 1, 1));
  assert.equal(monthStartUtc(mid, -36), Date.UTC(2023, 10, 1));
  assert.equal(monthStartUtc(Date.UTC(2026, 0, 31, 23, 59), -1), Date.UTC(2025, 11, 1));
});

Deno.test("retentionCutoff() keeps at least retentionMonths whole months", () => {
  assert.equal(retentionCutoff(Date.UTC(2031, 5, 15), 36), Date.UTC(2028, 5, 1));
  assert.equal(retentionCutoff(Date.UTC(2031, 0, 1), 1), Date.UTC(2030, 11, 1));
});

Deno.test("timePartitionedTables() lists the live_data tables partitioned by month with their defaults", async () => {
  await using db = await createTestDb();
  const tables = await timePartitionedTables(db.sql, "live_data");
  assert.deepEqual(tables.map((t) => t.table), LIVE_TABLES);
  for (const t of tables) assert.equal(t.defaultPartition, `${t.table}_default`);
  assert.equal(tables.find((t) => t.table === "btc_price_log")?.keyColumn, "timestamp");
  assert.equal(tables.find((t) => t.table === "kalshi_market_history")?.keyColumn, "observed_at");
});

Deno.test("maintainPartitions() creates the monthly partitions through monthsAhead for every live_data table", async () => {
  await using db = await createTestDb();
  const now = Date.UTC(2031, 5, 15, 12);
  const r = await maintainPartitions({ sql: db.sql, now, monthsAhead: 3, retentionMonths: 36 });
  assert.equal(r.created, 4 * LIVE_TABLES.length);
  assert.deepEqual(
    r.tables.map((t) => [t.table, t.created]),
    LIVE_TABLES.map((t) => [
      `live_data.${t}`,
      4,
    ]),
  );
  for (const table of LIVE_TABLES) {
    const names = (await partitions(db.sql, table)).map((p) => p.partition);
    for (const ym of ["203106", "203107", "203108", "203109"]) {
      assert.ok(names.includes(`${table}_p${ym}`), `${table}_p${ym} exists`);
    }
    assert.ok(!names.includes(`${table}_p203110`), "nothing beyond monthsAhead");
    const p = (await partitions(db.sql, table)).find((x) => x.partition === `${table}_p203107`);
    assert.equal(p?.range_from?.toISOString(), "2031-07-01T00:00:00.000Z");
    assert.equal(p?.range_to?.toISOString(), "2031-08-01T00:00:00.000Z");
  }
  // A second run creates nothing (idempotent).
  const again = await maintainPartitions({ sql: db.sql, now, monthsAhead: 3, retentionMonths: 36 });
  assert.equal(again.created, 0);
});

Deno.test("maintainPartitions() moves in-window rows out of the default partition and keeps every row", async () => {
  await using db = await createTestDb();
  const now = Date.UTC(2031, 5, 15);
  // Months without partitions: the rows land in the default partition.
  await insertPrices(db.sql, [
    "2020-03-01T00:00:00Z", // older than the retention cutoff (2028-06-01): stays in default
    "2030-01-05T10:00:00Z",
    "2030-01-31T23:59:59.5Z",
    "2030-02-01T00:00:00Z",
    "2031-06-10T00:00:00Z",
    "2040-01-01T00:00:00Z", // beyond the horizon: stays in default
  ]);
  const before = await fingerprint(db.sql);
  assert.equal(before.n, 6);
  assert.equal(await rowsIn(db.sql, "btc_price_log_default"), 6);

  const r = await maintainPartitions({ sql: db.sql, now, monthsAhead: 3, retentionMonths: 36 });
  const btc = r.tables.find((t) => t.table === "live_data.btc_price_log");
  assert.equal(btc?.defaultRows, 2);
  // 2030-01 .. 2031-09: 21 months.
  assert.equal(btc?.created, 21);
  assert.deepEqual(await fingerprint(db.sql), before, "same rows, same ids, same values");
  const left = await db.sql<{ timestamp: Date }[]>`
    select "timestamp" from live_data.btc_price_log_default order by 1`;
  assert.deepEqual(left.map((x) => x.timestamp.toISOString()), [
    "2020-03-01T00:00:00.000Z",
    "2040-01-01T00:00:00.000Z",
  ]);
  assert.equal(await rowsIn(db.sql, "btc_price_log_p203001"), 2);
  assert.equal(await rowsIn(db.sql, "btc_price_log_p203002"), 1);
  // New rows of a moved month go to its partition.
  await insertPrices(db.sql, ["2030-01-06T00:00:00Z"]);
  assert.equal(await rowsIn(db.sql, "btc_price_log_p203001"), 3);
});

Deno.test("applyRetention() drops exactly the partitions that ended by the cutoff and records each", async () => {
  await using db = await createTestDb();
  const now = Date.UTC(2031, 5, 15);
  const cutoff = new Date(retentionCutoff(now, 36)); // 2028-06-01
  for (const t of await timePartitionedTables(db.sql, "live_data")) {
    await ensureMonthPartitions(db.sql, t, new Date("2028-03-01Z"), new Date("2028-08-01Z"));
  }
  await insertPrices(db.sql, [
    "2028-04-10T00:00:00Z",
    "2028-05-31T23:59:59Z",
    "2028-06-01T00:00:00Z",
    "2028-07-04T00:00:00Z",
  ]);
  const all = await db.sql<{ parent: string; partition: string; range_to: Date | null }[]>`
    select parent, partition, range_to from system.time_partitions
     where parent_schema = 'live_data' and not is_default`;
  const expected = all.filter((p) => p.range_to !== null && p.range_to <= cutoff)
    .map((p) => `live_data.${p.partition}`).sort();
  for (const t of LIVE_TABLES) {
    for (const ym of ["202803", "202804", "202805"]) {
      assert.ok(expected.includes(`live_data.${t}_p${ym}`));
    }
  }

  const r = await applyRetention({ sql: db.sql, now, retentionMonths: 36 });
  assert.equal(r.cutoff, "2028-06-01T00:00:00.000Z");
  assert.deepEqual(r.dropped.map((d) => d.partition).sort(), expected);

  const after = await db.sql<{ partition: string; is_default: boolean }[]>`
    select partition, is_default from system.time_partitions where parent_schema = 'live_data'`;
  const names = after.map((p) => `live_data.${p.partition}`);
  for (const gone of expected) assert.ok(!names.includes(gone), `${gone} dropped`);
  for (const t of LIVE_TABLES) {
    assert.ok(names.includes(`live_data.${t}_default`), "default partitions stay");
    assert.ok(names.includes(`live_data.${t}_p202806`), "the cutoff month stays");
    assert.ok(names.includes(`live_data.${t}_p202807`));
  }
  const rows = await db.sql<{ timestamp: Date }[]>`
    select "timestamp" from live_data.btc_price_log order by 1`;
  assert.deepEqual(rows.map((x) => x.timestamp.toISOString()), [
    "2028-06-01T00:00:00.000Z",
    "2028-07-04T00:00:00.000Z",
  ]);

  const drops = await db.sql<
    { parent: string; partition: string; range_from: Date; range_to: Date }[]
  >`select parent, partition, range_from, range_to from system.partition_drops order by partition`;
  assert.deepEqual(drops.map((d) => d.partition), expected);
  const apr = drops.find((d) => d.partition === "live_data.btc_price_log_p202804");
  assert.equal(apr?.parent, "live_data.btc_price_log");
  assert.equal(apr?.range_from.toISOString(), "2028-04-01T00:00:00.000Z");
  assert.equal(apr?.range_to.toISOString(), "2028-05-01T00:00:00.000Z");

  // Nothing is left to drop: a second run drops nothing.
  const again = await applyRetention({ sql: db.sql, now, retentionMonths: 36 });
  assert.deepEqual(again.dropped, []);
});

Deno.test("applyRetention() never drops a default partition and reports its expired rows", async () => {
  await using db = await createTestDb();
  const now = Date.UTC(2031, 5, 15);
  await insertPrices(db.sql, ["2020-03-01T00:00:00Z", "2020-04-01T00:00:00Z"]);
  const r = await applyRetention({ sql: db.sql, now, retentionMonths: 36 });
  assert.deepEqual(r.defaultExpired, [{ table: "live_data.btc_price_log_default", rows: 2 }]);
  assert.equal(
    await rowsIn(db.sql, "btc_price_log_default"),
    2,
    "rows in a default partition are never deleted",
  );
  const defaults = await db.sql`
    select 1 from system.time_partitions where parent_schema = 'live_data' and is_default`;
  assert.equal(defaults.length, LIVE_TABLES.length);
});
