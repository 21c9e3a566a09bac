/**
 * Partition maintenance, retention and backups across calendar boundaries, on a fixed clock: the
 * end of a month (and of February in a leap year), of a year, and both US daylight-saving changes.
 * Every instant comes from the cases below, never from the wall clock, so the suite passes on any
 * day it runs (it once failed from 1 December 2026 on, assuming November).
 */
import assert from "node:assert/strict";
import type { Sql } from "../lib/db.ts";
import { ManualClock } from "../lib/clock.ts";
import { pgBinDirs } from "../lib/pg_tools.ts";
import { monthPartitionName, monthStartUtc } from "../actors/jobs/_partitions.ts";
import { maintainPartitions } from "../actors/jobs/partition_maintenance/mod.ts";
import { applyRetention } from "../actors/jobs/retention/mod.ts";
import { runBackup } from "../actors/jobs/backup/mod.ts";
import { backupFileName, backupsToDelete, isoWeek } from "../actors/jobs/backup/rotation.ts";
import { createTestDb } from "./_db.ts";
import { NO_PG_TOOLS } from "./_pg_tools.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Each case is the first instant after a boundary (UTC). */
const BOUNDARIES = [
  { name: "month end (30 April)", at: Date.UTC(2027, 4, 1) },
  { name: "leap day (29 February)", at: Date.UTC(2028, 2, 1) },
  { name: "year end", at: Date.UTC(2028, 0, 1) },
  // 02:00 EST becomes 03:00 EDT on the second Sunday of March: 07:00 UTC.
  { name: "US spring forward", at: Date.UTC(2027, 2, 14, 7) },
  // 02:00 EDT becomes 01:00 EST on the first Sunday of November: 06:00 UTC.
  { name: "US fall back", at: Date.UTC(2027, 10, 7, 6) },
];

/** Where each price row is stored, in time order: its partition, as the database says. */
async function partitionsOfRows(sql: Sql): Promise<{ t: number; part: string }[]> {
  const rows = await sql<{ t: Date; part: string }[]>`
    select "timestamp" as t, tableoid::regclass::text as part from live_data.btc_price_log
     order by 1`;
  return rows.map((r) => ({ t: r.t.getTime(), part: r.part }));
}

for (const b of BOUNDARIES) {
  Deno.test(`partitions and retention - across the ${b.name} on a fixed clock`, async () => {
    await using db = await createTestDb();
    const clock = new ManualClock(b.at - 1_000);
    const opts = { sql: db.sql, monthsAhead: 1, retentionMonths: 1 };
    await maintainPartitions({ ...opts, now: clock.now() });

    // Rows on both sides of the boundary, written as the clock passes it.
    const times = [-2_000, -1_000, 0, 1_000, 2_000].map((d) => b.at + d);
    await db.sql`insert into live_data.btc_price_log ${
      db.sql(times.map((t, i) => ({ timestamp: new Date(t), price: `${100 + i}.5` })))
    }`;
    clock.advance(3 * HOUR);
    await maintainPartitions({ ...opts, now: clock.now() });
    assert.deepEqual(
      await partitionsOfRows(db.sql),
      times.map((t) => ({ t, part: `live_data.${monthPartitionName("btc_price_log", t)}` })),
      "each row sits in the partition of its own UTC month, none in the default",
    );
    const [def] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from live_data.btc_price_log_default`;
    assert.equal(def?.n, 0);

    // Two months after the boundary's month, a one-month retention drops the month before it
    // and keeps the boundary's month, whole partitions only.
    clock.set(monthStartUtc(b.at, 1) + DAY);
    await maintainPartitions({ ...opts, now: clock.now() });
    const r = await applyRetention({ ...opts, now: clock.now() });
    const before = monthStartUtc(b.at - 1_000);
    const boundaryMonth = monthStartUtc(b.at);
    assert.equal(r.cutoff, new Date(boundaryMonth).toISOString());
    const dropped = r.dropped.map((d) => d.partition);
    for (const t of ["btc_price_log", "eth_price_log", "kalshi_market_history"]) {
      const mine = `live_data.${monthPartitionName(t, b.at)}`;
      assert.ok(!dropped.includes(mine), `${mine} is kept`);
      if (before !== boundaryMonth) {
        const prev = `live_data.${monthPartitionName(t, b.at - 1_000)}`;
        assert.ok(dropped.includes(prev), `${prev} is dropped`);
      }
    }
    for (const d of r.dropped) assert.ok(Date.parse(d.rangeTo) <= boundaryMonth, d.partition);
    const left = await db.sql<{ t: Date }[]>`
      select "timestamp" as t from live_data.btc_price_log order by 1`;
    assert.deepEqual(
      left.map((x) => x.t.getTime()),
      times.filter((t) => t >= boundaryMonth),
      "rows of the kept months survive, rows of dropped months are gone",
    );
  });
}

Deno.test("backup rotation - daily backups across the year end and both US daylight-saving changes", () => {
  for (const b of BOUNDARIES) {
    // A backup every day at 04:00 UTC, as the default schedule runs it, for 10 days around b.
    const first = Math.floor(b.at / DAY) * DAY - 5 * DAY + 4 * HOUR;
    const times = Array.from({ length: 10 }, (_, i) => first + i * DAY);
    const names = times.map(backupFileName);
    assert.equal(new Set(names).size, 10, `${b.name}: one name per day`);
    assert.deepEqual([...names].sort(), names, `${b.name}: names sort in time order`);
    const deleted = backupsToDelete(names, { keepDaily: 3, keepWeekly: 0 });
    assert.deepEqual(deleted, names.slice(0, 7).reverse(), `${b.name}: the 3 newest days stay`);
    // Weekly: the newest backup of each ISO week is kept.
    const weeks = new Set(times.map(isoWeek));
    const keptWeekly = names.filter((n) =>
      !backupsToDelete(names, { keepDaily: 0, keepWeekly: 9 }).includes(n)
    );
    assert.equal(keptWeekly.length, weeks.size, `${b.name}: one per ISO week`);
  }
  // The ISO week of the year end belongs to the year of its Thursday.
  assert.equal(isoWeek(Date.UTC(2027, 11, 31)), "2027-W52");
  assert.equal(isoWeek(Date.UTC(2028, 0, 1)), "2027-W52");
  assert.equal(isoWeek(Date.UTC(2026, 11, 31)), "2026-W53");
  assert.equal(isoWeek(Date.UTC(2027, 0, 4)), "2027-W01");
});

Deno.test({
  name:
    "runBackup() at the year end counts the rows of both years' partitions and names the file in UTC",
  ignore: NO_PG_TOOLS !== undefined,
}, async () => {
  await using db = await createTestDb();
  const dir = await Deno.makeTempDir();
  try {
    const at = Date.UTC(2028, 0, 1);
    const clock = new ManualClock(at + 4 * HOUR);
    await maintainPartitions({
      sql: db.sql,
      now: at - DAY,
      monthsAhead: 1,
      retentionMonths: 36,
    });
    const times = [-3_000, -2_000, -1_000, 0, 1_000].map((d) => at + d);
    await db.sql`insert into live_data.btc_price_log ${
      db.sql(times.map((t) => ({ timestamp: new Date(t), price: "1.5" })))
    }`;
    const r = await runBackup({
      sql: db.sql,
      databaseUrl: db.url,
      dir,
      pgBinDirs: pgBinDirs(),
      keepDaily: 7,
      keepWeekly: 4,
      now: () => clock.now(),
    });
    assert.equal(r.status, "ok", r.error);
    const [row] = await db.sql<{ path: string; row_counts: Record<string, number> }[]>`
      select path, row_counts from system.backups`;
    assert.ok(row?.path.endsWith(`/${backupFileName(clock.now())}`), row?.path);
    assert.equal(backupFileName(clock.now()), "recio_20280101T040000Z.dump");
    const counts = row!.row_counts;
    assert.equal(counts[`live_data.${monthPartitionName("btc_price_log", at - 1)}`], 3);
    assert.equal(counts[`live_data.${monthPartitionName("btc_price_log", at)}`], 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
