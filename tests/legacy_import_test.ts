import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { importLegacy, type LegacyReport, verifyLegacy } from "../schema/legacy/mod.ts";
import { main } from "../schema/legacy/cli.ts";
import { createTestDb } from "./_db.ts";
import {
  secondRows,
  writeJson,
  writeLegacyTree,
  writeMarketLog,
  writePriceDb,
  writeTables,
} from "./fixtures/legacy.ts";

const clock = new ManualClock(Date.UTC(2025, 11, 1));

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "recio_legacy_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function entry(report: LegacyReport, kind: string) {
  const e = report.entries.find((x) => x.kind === kind);
  assert.ok(e, `no report entry ${kind}`);
  return e;
}

Deno.test("importLegacy() imports every store kind of a legacy tree with parity proven", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const tree = await writeLegacyTree(dir);
    const report = await importLegacy(db.sql, [tree.root], { clock });
    assert.equal(report.ok, true);
    const kinds = new Set(report.entries.map((e) => e.kind.split(":")[0]));
    for (
      const k of [
        "price_sqlite",
        "kalshi_market_log",
        "account_sqlite",
        "trades_db",
        "json",
        "historical_csv",
      ]
    ) assert.ok(kinds.has(k), k);
    for (const e of report.entries) {
      assert.equal(e.status, "ok", `${e.kind} ${e.path}`);
      assert.equal(e.sourceRows, e.targetRows);
      assert.equal(e.sourceSha256, e.targetSha256);
      assert.match(e.sourceSha256!, /^[0-9a-f]{64}$/);
    }
    assert.equal(entry(report, "price_sqlite:price_log").inserted, 300);
    assert.equal(entry(report, "account_sqlite:settlements").duplicates, 1);
    assert.deepEqual(
      report.ignored.map((i) => i.path.split("/").pop()).sort(),
      ["fills.json", "latest_market_snapshot.json"],
    );
    const [runs] = await db
      .sql`select count(*)::int as n, count(*) filter (where status = 'ok')::int as ok
      from system.legacy_import_runs`;
    assert.equal(runs!.n, report.entries.length);
    assert.equal(runs!.ok, report.entries.length);
    // Rows landed in monthly partitions, not in the default one.
    const [def] = await db.sql`select count(*)::int as n from live_data.btc_price_log_default`;
    assert.equal(def!.n, 0);
  });
});

Deno.test("importLegacy() a second run adds nothing and still proves parity", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const tree = await writeLegacyTree(dir);
    await importLegacy(db.sql, [tree.root], { clock });
    const [before] = await db.sql`select
      (select count(*) from live_data.btc_price_log)::int as p,
      (select count(*) from user_0001.account_balance)::int as b,
      (select count(*) from user_0001.trades)::int as t`;
    const again = await importLegacy(db.sql, [tree.root], { clock });
    assert.equal(again.ok, true);
    for (const e of again.entries) assert.equal(e.inserted, 0, e.kind);
    const [after] = await db.sql`select
      (select count(*) from live_data.btc_price_log)::int as p,
      (select count(*) from user_0001.account_balance)::int as b,
      (select count(*) from user_0001.trades)::int as t`;
    assert.deepEqual(after, before);
  });
});

Deno.test("importLegacy() converts legacy units to dollars and timestamps to UTC", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const tree = await writeLegacyTree(dir);
    const report = await importLegacy(db.sql, [tree.root], { clock });
    assert.equal(report.ok, true);
    const [q] = await db.sql`select yes_bid::text, last_price::text, volume::text,
        to_char(observed_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as at
      from live_data.kalshi_market_history
      where market_ticker = 'KXBTCD-25JUL2615-T114749.99' order by observed_at limit 1`;
    assert.deepEqual(q, {
      yes_bid: "0.5600",
      last_price: "0.5700",
      volume: "1200",
      at: "2025-07-26 18:00:01",
    });
    const [p] = await db
      .sql`select market_exposure_dollars::text as e, total_traded_dollars::text as t,
      realized_pnl_dollars::text as r from user_0001.positions where ticker = 'KXBTCD-25JUL2615-T114749.99'`;
    assert.deepEqual(p, { e: "56", t: "56", r: "1.25" });
    const [jp] = await db.sql`select realized_pnl_dollars::text as r, fees_paid_dollars::text as f
      from user_0001.positions where ticker = 'KXBTCD-25JUL2616-T115249.99'`;
    assert.deepEqual(jp, { r: "-0.25", f: "0.03" });
    const fills = await db.sql`select trade_id, yes_price_dollars::text as y, is_taker
      from user_0001.fills order by trade_id`;
    assert.deepEqual(fills.map((f) => [f.trade_id, f.y, f.is_taker]), [
      ["f-1", "0.56", true],
      ["f-2", "0.31", false],
      ["f-3", "0.5", true],
    ]);
    const [o] = await db
      .sql`select yes_price_dollars::text as y from user_0001.orders where order_id = 'o-1'`;
    assert.equal(o!.y, "0.56");
    const bal = await db.sql`select balance_dollars::text as b,
      to_char(observed_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as at
      from user_0001.account_balance where observed_at < '2025-07-27' order by observed_at`;
    assert.deepEqual(bal.map((b) => [b.b, b.at]), [
      ["123.4500", "2025-07-26 18:00"],
      ["123.9950", "2025-07-26 19:00"],
    ]);
    const [s] = await db.sql`select revenue_dollars::text as r, no_total_cost_dollars::text as c
      from user_0001.settlements where ticker = 'KXBTCD-25JUL2614-T114249.99'`;
    assert.deepEqual(s, { r: "4", c: "2.36" });
    const [t] = await db.sql`select strike::text, diff::text, ticket_id,
      to_char(opened_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as opened,
      to_char(closed_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as closed
      from user_0001.trades where id = 1`;
    assert.deepEqual(t, {
      strike: "114750",
      diff: "0.35",
      ticket_id: "1001",
      opened: "2025-07-26 18:05:10",
      closed: "2025-07-26 19:00:05",
    });
    assert.deepEqual(entry(report, "trades_db:trades").lossy.map((l) => l.split(" ")[0]), [
      "fees",
      "pnl",
      "symbol_open",
      "symbol_close",
      "momentum",
      "volatility",
    ]);
    // A new trade after the import gets an id past the imported ones.
    const [n] = await db.sql`insert into user_0001.trades (status) values ('pending') returning id`;
    assert.equal(Number(n!.id), 3);
    const [pc] = await db.sql`select change1h::text from live_data.price_change_btc`;
    assert.equal(pc!.change1h, "0.123457");
  });
});

Deno.test("importLegacy() excludes a spring-forward row and resolves the fall-back hour by rowid order", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const folded = `${dir}/a/btc_price_history.db`;
    await writePriceDb(folded, [
      { timestamp: "2025-03-09T01:59:59", price: 80000 },
      { timestamp: "2025-03-09T02:30:00", price: 80001 },
      { timestamp: "2025-03-09T03:00:00", price: 80002 },
      { timestamp: "2025-11-02T01:40:00", price: 90000 },
      { timestamp: "2025-11-02T01:50:00", price: 90001 },
      { timestamp: "2025-11-02T01:10:00", price: 90002 },
      { timestamp: "2025-11-02T01:30:00", price: 90003 },
      { timestamp: "2025-11-02T02:00:00", price: 90004 },
    ]);
    const unproven = `${dir}/b/eth_price_history.db`;
    await writePriceDb(unproven, [
      { timestamp: "2025-11-02T00:59:00", price: 3000 },
      { timestamp: "2025-11-02T01:30:00", price: 3001 },
      { timestamp: "2025-11-02T02:00:00", price: 3002 },
    ]);
    const report = await importLegacy(db.sql, [dir], { clock });
    assert.equal(report.ok, true);
    const btc = entry(report, "price_sqlite:price_log");
    const rows = await db
      .sql`select to_char("timestamp" at time zone 'UTC', 'MM-DD HH24:MI:SS') as t,
      price::int as p from live_data.btc_price_log order by "timestamp"`;
    assert.deepEqual(rows.map((r) => [r.t, r.p]), [
      ["03-09 06:59:59", 80000],
      ["03-09 07:00:00", 80002],
      ["11-02 05:40:00", 90000],
      ["11-02 05:50:00", 90001],
      ["11-02 06:10:00", 90002],
      ["11-02 06:30:00", 90003],
      ["11-02 07:00:00", 90004],
    ]);
    assert.equal(btc.excludedCount, 1);
    assert.match(btc.excluded[0]!.ref, /2025-03-09T02:30:00/);
    const eth = report.entries.find((e) => e.target === "live_data.eth_price_log")!;
    assert.equal(eth.excludedCount, 1);
    assert.match(eth.excluded[0]!.reason, /ambiguous/);
    assert.equal(eth.sourceRows, 2);
  });
});

Deno.test("verifyLegacy() finds a tampered target row by its hash while the counts match", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const tree = await writeLegacyTree(dir);
    assert.equal((await importLegacy(db.sql, [tree.root], { clock })).ok, true);
    await db.sql`update live_data.btc_price_log set price = price + 0.01
      where "timestamp" = '2025-07-20T14:01:00Z'`;
    const report = await verifyLegacy(db.sql, [tree.priceDb], { clock });
    assert.equal(report.ok, false);
    const e = entry(report, "price_sqlite:price_log");
    assert.equal(e.status, "mismatch");
    assert.equal(e.sourceRows, e.targetRows);
    assert.notEqual(e.sourceSha256, e.targetSha256);
    assert.deepEqual(e.mismatches, [
      { key: "2025-07-20T14:01:00.000000Z", problem: "different", columns: ["price"] },
    ]);
    const [run] = await db.sql`select status, mismatches from system.legacy_import_runs
      where status like 'verify%'`;
    assert.equal(run!.status, "verify_mismatch");
    const code = await withEnv(db.url, () => main(["verify", tree.priceDb]));
    assert.equal(code, 1);
  });
});

Deno.test("importLegacy() reports a corrupt or wrong file by name, commits nothing from it, imports the rest", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const good = `${dir}/btc_price_history.db`;
    await writePriceDb(good, secondRows(20));
    await Deno.writeTextFile(`${dir}/eth_price_history.db`, "SQLite format 3\0 truncated garbage");
    const bad = `${dir}/x/btc_ticks.db`;
    await writePriceDb(bad, [
      ...secondRows(30, "2025-02-01T00:00:00"),
      { timestamp: "2025-02-01T00:00:30", price: -5 },
    ], { minimal: true });
    await writePriceDb(`${dir}/y/eth_ticks.db`, [
      { timestamp: "2025-02-01T00:00:00", price: 3000 },
      { timestamp: "2025-02-01T00:00:01", price: "3,0x1" },
    ], { layout: "btc_prices" });
    await writeJson(`${dir}/acct/fills.json`, { orders: [] });
    await writeTables(`${dir}/weird.db`, {});
    const w = await import("node:sqlite");
    const wdb = new w.DatabaseSync(`${dir}/weird.db`);
    wdb.exec("create table secrets (x text)");
    wdb.close();
    await writeMarketLog(`${dir}/m/kalshi_market_log.db`, [{
      timestamp: "2030-01-01T00:00:00",
      event_ticker: "KXBTCD-30JAN0100",
      strike: 1,
      yes_bid: 1,
      yes_ask: 2,
      no_bid: 1,
      no_ask: 2,
      last_price: 1,
      volume: 1,
    }]);
    const report = await importLegacy(db.sql, [dir], { clock, batchSize: 7 });
    assert.equal(report.ok, false);
    const byFile = (name: string) => report.entries.find((e) => e.path.endsWith(name))!;
    assert.equal(byFile("/btc_price_history.db").status, "ok");
    for (
      const [name, pattern] of [
        [
          "eth_price_history.db",
          /eth_price_history\.db.*not a (readable SQLite )?database|malformed/,
        ],
        ["btc_ticks.db", /btc_ticks\.db.*timestamp=2025-02-01T00:00:30.*price -5 is impossible/],
        ["fills.json", /fills\.json.*not a fills mirror/],
        [
          "eth_ticks.db",
          /eth_ticks\.db.*timestamp=2025-02-01T00:00:01.*price "3,0x1" is not a number/,
        ],
        ["weird.db", /weird\.db.*unknown table\(s\) "secrets"/],
        ["kalshi_market_log.db", /kalshi_market_log\.db.*id=1.*in the future/],
      ] as const
    ) {
      const e = byFile(name);
      assert.equal(e.status, "failed", name);
      assert.match(e.error ?? "", pattern);
    }
    const [n] = await db.sql`select count(*)::int as n from live_data.btc_price_log
      where "timestamp" >= '2025-02-01'`;
    assert.equal(n!.n, 0, "nothing of the failed price file was committed");
    const [m] = await db.sql`select count(*)::int as n from live_data.kalshi_market_history`;
    assert.equal(m!.n, 0);
    const [g] = await db.sql`select count(*)::int as n from live_data.btc_price_log`;
    assert.equal(g!.n, 20);
    const [eth] = await db.sql`select count(*)::int as n from live_data.eth_price_log`;
    assert.equal(eth!.n, 0);
    const [runs] = await db.sql`select count(*)::int as n from system.legacy_import_runs
      where status = 'failed' and error like '%Cannot import legacy file%'`;
    assert.equal(runs!.n, 6);
  });
});

Deno.test("importLegacy() with dryRun reads and reports without writing", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const tree = await writeLegacyTree(dir);
    const report = await importLegacy(db.sql, [tree.root], { clock, dryRun: true });
    assert.ok(report.entries.length > 10);
    for (const e of report.entries) {
      assert.equal(e.status, "dry_run", e.kind);
      assert.equal(e.targetRows, 0);
      assert.ok((e.sourceRows ?? 0) > 0);
    }
    const [n] = await db.sql`select
      (select count(*) from live_data.btc_price_log)::int +
      (select count(*) from user_0001.fills)::int +
      (select count(*) from system.legacy_import_runs)::int as n`;
    assert.equal(n!.n, 0);
  });
});

Deno.test("cli main() imports, writes the JSON report and exits 0 on parity", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const tree = await writeLegacyTree(dir);
    const out = `${dir}/report.json`;
    const code = await withEnv(db.url, () => main(["import", "--report", out, tree.root]));
    assert.equal(code, 0);
    const json = JSON.parse(await Deno.readTextFile(out)) as LegacyReport;
    assert.equal(json.ok, true);
    assert.ok(json.entries.every((e) => e.status === "ok"));
    assert.equal(await withEnv(db.url, () => main(["bogus"])), 2);
  });
});

async function withEnv<T>(url: string, fn: () => Promise<T>): Promise<T> {
  const old = Deno.env.get("DATABASE_URL");
  Deno.env.set("DATABASE_URL", url);
  const log = console.log;
  const err = console.error;
  console.log = () => {};
  console.error = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.error = err;
    if (old === undefined) Deno.env.delete("DATABASE_URL");
    else Deno.env.set("DATABASE_URL", old);
  }
}
