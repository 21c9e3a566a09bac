/**
 * The COPY path of the legacy import (`legacy/bulk.ts`, `legacy/digest.ts`) on a real database:
 * monthly partitions, the staged path over live rows, the fall-back to the row path on a
 * refusal, the digest parity and the merge that settles a difference.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { formatReport, importLegacy, type LegacyReport, verifyLegacy } from "../legacy/mod.ts";
import { findSources } from "../legacy/detect.ts";
import { BulkFailed, copyPart, digestPart } from "../legacy/bulk.ts";
import { digestParity, WINDOW_ROWS } from "../legacy/digest.ts";
import { parity } from "../legacy/parity.ts";
import type { Excluded, Part, Source } from "../legacy/_part.ts";
import { createTestDb } from "./_db.ts";
import { type LegacyPrice, secondRows, writePriceDb } from "./fixtures/legacy.ts";

const clock = new ManualClock(Date.UTC(2025, 11, 1));
const nowMs = clock.now();

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "recio_legacy_bulk_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function only(report: LegacyReport) {
  assert.equal(report.entries.length, 1, formatReport(report));
  return report.entries[0]!;
}

/** The price part of a single-table legacy file, opened; closed by the caller's `using`. */
async function openPart(path: string): Promise<{ part: Part; source: Source } & Disposable> {
  const found = await findSources([path]);
  const source = found.sources[0]!;
  assert.ok(source, `no source found at ${path}`);
  const part = source.parts[0]!;
  assert.ok(part.bulk, "the price part offers the COPY path");
  return { part, source, [Symbol.dispose]: () => source.close() };
}

/** Rows around the ends of January and February 2025 (UTC): three calendar months. */
function threeMonths(): LegacyPrice[] {
  return [
    ...secondRows(90, "2025-01-31T18:59:00"), // 23:59:00Z .. 00:00:29Z Feb 1
    ...secondRows(90, "2025-02-28T18:59:30"), // 23:59:30Z .. 00:00:59Z Mar 1
  ];
}

Deno.test("importLegacy() COPY path puts rows of three calendar months in their partitions, each once", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, threeMonths());
    const e = only(await importLegacy(db.sql, [path], { clock }));
    assert.equal(e.status, "ok", e.error ?? "");
    assert.deepEqual([e.inserted, e.sourceRows, e.targetRows], [180, 180, 180]);
    const parts = await db.sql`select tableoid::regclass::text as p, count(*)::int as n,
        count(distinct "timestamp")::int as d
      from live_data.btc_price_log group by 1 order by 1`;
    assert.deepEqual(parts.map((r) => [r.p, r.n, r.d]), [
      ["live_data.btc_price_log_p202501", 60, 60],
      ["live_data.btc_price_log_p202502", 60, 60],
      ["live_data.btc_price_log_p202503", 60, 60],
    ]);
    // The values went in as the row path writes them (the old parity compares them too).
    const [first] = await db.sql`select price::text as p, momentum::text as m, delta_1m::text as d,
        delta_2m as d2 from live_data.btc_price_log order by "timestamp" limit 1`;
    assert.deepEqual(first, { p: "95000.00000000", m: "-0.100000", d: "-0.002500", d2: null });
  });
});

Deno.test("importLegacy() COPY path: a second run adds nothing and proves parity by digest", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, threeMonths());
    assert.equal(only(await importLegacy(db.sql, [path], { clock })).inserted, 180);
    const again = only(await importLegacy(db.sql, [path], { clock }));
    assert.deepEqual([again.status, again.inserted, again.sourceRows, again.targetRows], [
      "ok",
      0,
      180,
      180,
    ]);
    const [n] = await db.sql`select count(*)::int as n from live_data.btc_price_log`;
    assert.equal(n!.n, 180);
  });
});

Deno.test("copyPart() stages a month whose range holds live rows: counts only new rows, leaves the live ones as they are", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, threeMonths());
    // February holds live rows: one the source also has (other price: kept), and two between
    // source seconds and after the source's last February row. January and March do not.
    await db.sql`select system.ensure_month_partitions('live_data.btc_price_log'::regclass,
      '2025-02-01', '2025-02-01')`;
    await db.sql`insert into live_data.btc_price_log ("timestamp", price) values
      ('2025-02-01T00:00:05Z', 1), ('2025-02-01T00:00:05.5Z', 2), ('2025-02-20T00:00:00Z', 3)`;
    using o = await openPart(path);
    const excluded: Excluded[] = [];
    const r = await db.sql.begin((tx) =>
      copyPart(tx, o.part, { file: path, ctx: { nowMs, exclude: (x) => excluded.push(x) } })
    );
    assert.equal(r.added, 179);
    assert.equal(r.digest.rows, 180);
    assert.deepEqual(excluded, []);
    const live = await db.sql`select to_char("timestamp" at time zone 'UTC', 'MM-DD HH24:MI:SS.MS')
        as t, price::text as p, momentum from live_data.btc_price_log where price < 10
      order by 1`;
    assert.deepEqual(live.map((x) => [x.t, x.p, x.momentum]), [
      ["02-01 00:00:05.000", "1.00000000", null],
      ["02-01 00:00:05.500", "2.00000000", null],
      ["02-20 00:00:00.000", "3.00000000", null],
    ]);
    const [n] = await db.sql`select count(*)::int as n from live_data.btc_price_log`;
    assert.equal(n!.n, 182);
    // The parity then names the live row that differs and counts the two between source rows.
    const p = await parity(db.sql, o.part, path, { nowMs, exclude: () => {} });
    assert.deepEqual(p.mismatches, [
      {
        key: "2025-02-01T00:00:05.000000Z",
        problem: "different",
        columns: ["price", "momentum", "delta_1m"],
      },
    ]);
    assert.equal(p.targetExtra, 2);
    assert.equal(await digestParity(db.sql, o.part, r.digest), undefined);
  });
});

Deno.test("importLegacy() over identical live rows inside the range adds only the others and proves parity", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, secondRows(100));
    // A first import of part of the rows (the live system, say), then the whole file.
    const part = `${dir}/p/btc_price_history.db`;
    await writePriceDb(part, [...secondRows(100)].filter((_, i) => i % 3 === 0));
    assert.equal(only(await importLegacy(db.sql, [part], { clock })).inserted, 34);
    const e = only(await importLegacy(db.sql, [path], { clock }));
    assert.deepEqual([e.status, e.inserted, e.sourceRows, e.targetRows, e.targetExtra], [
      "ok",
      66,
      100,
      100,
      0,
    ]);
  });
});

Deno.test("importLegacy() falls back to the row path when PostgreSQL refuses a row during COPY: that row is reported, the rest imported", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, threeMonths());
    await db.sql.unsafe(`
      create function refuse_for_test() returns trigger language plpgsql as $$
      begin
        if new."timestamp" = '2025-02-01T00:00:10Z' then
          raise exception 'refused for the test' using errcode = 'check_violation';
        end if;
        return new;
      end $$;
      create trigger refuse before insert on live_data.btc_price_log
        for each row execute function refuse_for_test();`);
    using o = await openPart(path);
    // The COPY path itself gives up with a BulkFailed, and the transaction rolls back cleanly.
    await assert.rejects(
      db.sql.begin((tx) => copyPart(tx, o.part, { file: path, ctx: { nowMs, exclude() {} } })),
      (e) => e instanceof BulkFailed,
    );
    const [none] = await db.sql`select count(*)::int as n from live_data.btc_price_log`;
    assert.equal(none!.n, 0);
    const e = only(await importLegacy(db.sql, [path], { clock }));
    assert.equal(e.status, "ok", e.error ?? "");
    assert.deepEqual([e.inserted, e.sourceRows, e.targetRows], [179, 179, 179]);
    assert.deepEqual(e.excludedByReason, { refused_by_database: 1 });
    assert.match(e.excluded[0]!.ref, /2025-01-31T19:00:10/);
    assert.match(e.excluded[0]!.detail, /^23514 refused for the test/);
    const [n] = await db.sql`select count(*)::int as n,
      count(*) filter (where "timestamp" = '2025-02-01T00:00:10Z')::int as refused
      from live_data.btc_price_log`;
    assert.deepEqual(n, { n: 179, refused: 0 });
    const again = only(await importLegacy(db.sql, [path], { clock }));
    assert.deepEqual([again.inserted, again.excludedCount], [0, 1]);
  });
});

Deno.test("importLegacy() fails a file whose COPY and row paths both meet a refusal that is not about data, and commits nothing", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, secondRows(30));
    await db.sql.unsafe(`
      create function refuse_all_for_test() returns trigger language plpgsql as $$
      begin
        raise exception 'the target is closed for the test';
      end $$;
      create trigger refuse before insert on live_data.btc_price_log
        for each row execute function refuse_all_for_test();`);
    const e = only(await importLegacy(db.sql, [path], { clock }));
    assert.equal(e.status, "failed");
    assert.match(e.error!, /the target is closed for the test/);
    const [n] = await db.sql`select count(*)::int as n from live_data.btc_price_log`;
    assert.equal(n!.n, 0);
  });
});

Deno.test("importLegacy() of two price tables of one file over live rows stages each part on its own and counts each", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    const rows = [...secondRows(150)];
    await writePriceDb(path, rows.slice(0, 100), { minimal: true });
    const { DatabaseSync } = await import("node:sqlite");
    const sdb = new DatabaseSync(path);
    sdb.exec("CREATE TABLE price_history (timestamp TEXT PRIMARY KEY, price REAL)");
    const ins = sdb.prepare("INSERT INTO price_history (timestamp, price) VALUES (?, ?)");
    for (const r of rows.slice(50)) ins.run(r.timestamp, r.price);
    sdb.close();
    await db.sql`select system.ensure_month_partitions('live_data.btc_price_log'::regclass,
      '2025-01-06', '2025-01-06')`;
    await db.sql`insert into live_data.btc_price_log ("timestamp", price)
      values ('2025-01-06T05:00:00.5Z', 1)`;
    const report = await importLegacy(db.sql, [path], { clock });
    assert.equal(report.ok, true, formatReport(report));
    const log = report.entries.find((x) => x.kind === "price_sqlite:price_log")!;
    const hist = report.entries.find((x) => x.kind === "price_sqlite:price_history")!;
    // The rows 50..99 are in both tables: the part imported second adds only the others.
    assert.deepEqual([log.sourceRows, log.targetExtra, hist.sourceRows, hist.targetExtra], [
      100,
      1,
      100,
      0,
    ]);
    assert.deepEqual([log.inserted, hist.inserted].sort((a, b) => a - b), [50, 100]);
    const [n] = await db.sql`select count(*)::int as n from live_data.btc_price_log`;
    assert.equal(n!.n, 151);
  });
});

Deno.test("importLegacy() COPY path fails a file whose keys go back, names it, commits nothing, imports the next file", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const bad = `${dir}/a/btc_price_history.db`;
    // Text order puts "2025-01-06 10:…" (space) before "2025-01-06T09:…", UTC order the other way.
    await writePriceDb(bad, [
      ...secondRows(5, "2025-01-06T09:00:00"),
      { timestamp: "2025-01-06 10:00:00", price: 1 },
    ]);
    const good = `${dir}/b/btc_price_history.db`;
    await writePriceDb(good, secondRows(20, "2025-02-06T09:00:00"));
    const report = await importLegacy(db.sql, [bad, good], { clock });
    const [a, b] = [
      report.entries.find((x) => x.path === bad)!,
      report.entries.find((x) => x.path === good)!,
    ];
    assert.equal(a.status, "failed");
    assert.match(a.error!, /btc_price_history\.db.*out of key order/);
    assert.deepEqual([b.status, b.inserted], ["ok", 20]);
    const [n] = await db.sql`select count(*)::int as n from live_data.btc_price_log`;
    assert.equal(n!.n, 20);
  });
});

Deno.test("importLegacy() COPY path imports an identical repeated key once (counted) and fails a conflicting one", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const same = `${dir}/a/btc_price_history.db`;
    await writePriceDb(same, [
      { timestamp: "2025-01-06 10:00:00", price: 7, momentum: null, delta_1m: null },
      { timestamp: "2025-01-06T10:00:00", price: 7, momentum: null, delta_1m: null },
      { timestamp: "2025-01-06T10:00:01", price: 8 },
    ]);
    const e = only(await importLegacy(db.sql, [same], { clock }));
    assert.deepEqual([e.status, e.inserted, e.sourceRows, e.duplicates], ["ok", 2, 2, 1]);
    const other = `${dir}/b/eth_price_history.db`;
    await writePriceDb(other, [
      { timestamp: "2025-01-06 10:00:00", price: 7 },
      { timestamp: "2025-01-06T10:00:00", price: 9 },
    ]);
    const f = only(await importLegacy(db.sql, [other], { clock }));
    assert.equal(f.status, "failed");
    assert.match(f.error!, /eth_price_history\.db.*repeats key 2025-01-06T15:00:00\.000000Z/);
    const [n] = await db.sql`select count(*)::int as n from live_data.eth_price_log`;
    assert.equal(n!.n, 0);
  });
});

Deno.test("verifyLegacy() after a tampered row and an extra row inside the range: the merge names the key and counts the extra", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, secondRows(WINDOW_ROWS + 500));
    assert.equal(only(await importLegacy(db.sql, [path], { clock })).status, "ok");
    // In the second digest window: the windows before it match, this one does not.
    await db.sql`update live_data.btc_price_log set delta_1m = 0.5
      where "timestamp" = '2025-01-06T05:00:00Z'::timestamptz + interval '50100 seconds'`;
    await db.sql`insert into live_data.btc_price_log ("timestamp", price)
      values ('2025-01-06T05:00:00.25Z', 1)`;
    const e = only(await verifyLegacy(db.sql, [path], { clock }));
    assert.equal(e.status, "mismatch");
    assert.deepEqual(e.mismatches, [
      { key: "2025-01-06T18:55:00.000000Z", problem: "different", columns: ["delta_1m"] },
    ]);
    assert.equal(e.mismatchCount, 1);
    assert.equal(e.targetExtra, 1);
    assert.equal(e.sourceRows, e.targetRows);
    assert.notEqual(e.sourceSha256, e.targetSha256);
  });
});

Deno.test("verifyLegacy() with only an extra row inside the range: the merge counts it and parity holds", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, secondRows(300));
    assert.equal(only(await importLegacy(db.sql, [path], { clock })).status, "ok");
    await db.sql`insert into live_data.btc_price_log ("timestamp", price)
      values ('2025-01-06T05:01:00.5Z', 1)`;
    using o = await openPart(path);
    const digest = await digestPart(o.part, { file: path, ctx: { nowMs, exclude() {} } });
    assert.equal(await digestParity(db.sql, o.part, digest), undefined);
    const e = only(await verifyLegacy(db.sql, [path], { clock }));
    assert.deepEqual([e.status, e.targetExtra, e.mismatchCount], ["ok", 1, 0]);
  });
});

Deno.test("digestParity() on an equal target gives what the merge gives, over several windows and fractional seconds", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    const rows = [...secondRows(2 * WINDOW_ROWS + 7)];
    rows.push({ timestamp: "2025-01-08T00:00:00.25", price: 1.5, momentum: -0.000001 });
    rows.push({ timestamp: "2025-01-08T00:00:01.123456", price: 123456789.12345678 });
    await writePriceDb(path, rows);
    using o = await openPart(path);
    const r = await db.sql.begin((tx) =>
      copyPart(tx, o.part, { file: path, ctx: { nowMs, exclude() {} } })
    );
    assert.equal(r.added, rows.length);
    assert.equal(r.digest.windows.length, 3);
    assert.deepEqual(
      await digestPart(o.part, { file: path, ctx: { nowMs, exclude() {} } }),
      r.digest,
    );
    const d = await digestParity(db.sql, o.part, r.digest);
    const m = await parity(db.sql, o.part, path, { nowMs, exclude() {} });
    assert.ok(d, "the digests of an equal target match");
    assert.deepEqual(d, m);
  });
});

Deno.test("importLegacy() and verifyLegacy() bound the target at the first source key to the microsecond", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, [
      { timestamp: "2025-01-06T00:00:00.000500", price: 1 },
      { timestamp: "2025-01-06T00:00:01.000700", price: 2 },
    ]);
    // Below the first source key, in the same millisecond: outside the source's range.
    await db.sql`select system.ensure_month_partitions('live_data.btc_price_log'::regclass,
      '2025-01-06', '2025-01-06')`;
    await db.sql`insert into live_data.btc_price_log ("timestamp", price)
      values ('2025-01-06T05:00:00.000200Z', 9)`;
    const e = only(await importLegacy(db.sql, [path], { clock }));
    assert.deepEqual([e.status, e.inserted, e.targetRows, e.targetExtra], ["ok", 2, 2, 0]);
    const v = only(await verifyLegacy(db.sql, [path], { clock }));
    assert.deepEqual([v.status, v.targetExtra], ["ok", 0]);
    using o = await openPart(path);
    const p = await parity(db.sql, o.part, path, { nowMs, exclude() {} });
    assert.deepEqual([p.sourceRows, p.targetRows, p.targetExtra], [2, 2, 0]);
    const [t] = await db.sql`select count(*)::int as n from live_data.btc_price_log
      where "timestamp" >= '2025-01-06T05:00:00.0005Z'`;
    assert.equal(t!.n, 2);
  });
});

Deno.test("digestParity() of an empty source over an empty target holds, and importLegacy() of an empty table proves it", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, []);
    const e = only(await importLegacy(db.sql, [path], { clock }));
    assert.deepEqual([e.status, e.inserted, e.sourceRows, e.targetRows], ["ok", 0, 0, 0]);
  });
});

Deno.test("importLegacy() COPY path reports rows a reader leaves out (a spring-forward time, a bad price) and imports the rest", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const path = `${dir}/btc_price_history.db`;
    await writePriceDb(path, [
      { timestamp: "2025-03-09T01:59:59", price: 80000 },
      { timestamp: "2025-03-09T02:30:00", price: 80001 },
      { timestamp: "2025-03-09T03:00:00", price: -5 },
      { timestamp: "2025-03-09T03:00:01", price: "abc" },
      { timestamp: "2025-03-09T03:00:02", price: 80004 },
    ]);
    const e = only(await importLegacy(db.sql, [path], { clock }));
    assert.deepEqual([e.status, e.inserted, e.sourceRows], ["ok", 2, 2]);
    assert.deepEqual(e.excludedByReason, {
      nonexistent_spring_forward_time: 1,
      impossible_value: 1,
      non_numeric: 1,
    });
    // A second run reports the same rows left out, through the digest.
    const again = only(await importLegacy(db.sql, [path], { clock }));
    assert.deepEqual([again.inserted, again.excludedCount], [0, 3]);
  });
});
