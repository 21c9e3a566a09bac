import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { formatReport, importLegacy, type LegacyReport, verifyLegacy } from "../legacy/mod.ts";
import { main } from "../commands/legacy.ts";
import { createTestDb } from "./_db.ts";
import {
  secondRows,
  writeHistoryCsv,
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
    await writeJson(`${dir}/acct/fills.json`, { orders: [] });
    await writeJson(`${dir}/acct2/fills.json`, "not an object");
    await Deno.mkdir(`${dir}/acct3`);
    await Deno.writeTextFile(`${dir}/acct3/orders.json`, "{ broken");
    await writeTables(`${dir}/weird.db`, {});
    const w = await import("node:sqlite");
    const wdb = new w.DatabaseSync(`${dir}/weird.db`);
    wdb.exec("create table secrets (x text)");
    wdb.close();
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
        ["acct/fills.json", /fills\.json.*not a fills mirror/],
        ["acct2/fills.json", /fills\.json.*not a fills mirror/],
        ["acct3/orders.json", /orders\.json.*not valid JSON/],
        ["weird.db", /weird\.db.*unknown table\(s\) "secrets"/],
      ] as const
    ) {
      const e = byFile(name);
      assert.equal(e.status, "failed", name);
      assert.match(e.error ?? "", pattern);
    }
    const [g] = await db.sql`select count(*)::int as n from live_data.btc_price_log`;
    assert.equal(g!.n, 20);
    const [eth] = await db.sql`select count(*)::int as n from live_data.eth_price_log`;
    assert.equal(eth!.n, 0);
    const [runs] = await db.sql`select count(*)::int as n from system.legacy_import_runs
      where status = 'failed' and error like '%Cannot import legacy file%'`;
    assert.equal(runs!.n, 5);
  });
});

Deno.test("importLegacy() rejects and counts one bad row of a SQLite or CSV file and imports the rest of it", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    await writePriceDb(`${dir}/x/btc_ticks.db`, [
      ...secondRows(30, "2025-02-01T00:00:00"),
      { timestamp: "2025-02-01T00:00:30", price: -5 },
    ], { minimal: true });
    await writePriceDb(`${dir}/y/eth_ticks.db`, [
      { timestamp: "2025-02-01T00:00:00", price: 3000 },
      { timestamp: "2025-02-01T00:00:01", price: "3,0x1" },
    ], { layout: "btc_prices" });
    await writeMarketLog(`${dir}/m/kalshi_market_log.db`, [
      quoteAt("2025-07-26T14:00:01"),
      quoteAt("2030-01-01T00:00:00"),
    ]);
    const csv = `${dir}/historical_data/btc_historical/btc_1m_master_5y.csv`;
    await writeHistoryCsv(csv, 5);
    const text = await Deno.readTextFile(csv);
    await Deno.writeTextFile(csv, text + "2024-01-01 00:05:00,1,1,2,1,1,0\n");
    const report = await importLegacy(db.sql, [dir], { clock, batchSize: 7 });
    assert.equal(report.ok, true, formatReport(report));
    const byFile = (name: string) => report.entries.find((e) => e.path.endsWith(name))!;
    for (
      const [name, inserted, reason, pattern] of [
        ["btc_ticks.db", 30, "impossible_value", /price -5 is impossible/],
        ["eth_ticks.db", 1, "non_numeric", /price "3,0x1" is not a number/],
        ["kalshi_market_log.db", 1, "future_date", /in the future/],
        ["btc_1m_master_5y.csv", 5, "impossible_value", /high is below low/],
      ] as const
    ) {
      const e = byFile(name);
      assert.equal(e.status, "ok", name);
      assert.equal(e.inserted, inserted, name);
      assert.deepEqual(e.excludedByReason, { [reason]: 1 }, name);
      assert.match(e.excluded[0]!.detail, pattern, name);
    }
    assert.match(byFile("btc_ticks.db").excluded[0]!.ref, /timestamp=2025-02-01T00:00:30/);
    const [n] = await db.sql`select
      (select count(*) from live_data.btc_price_log)::int as btc,
      (select count(*) from live_data.eth_price_log)::int as eth,
      (select count(*) from live_data.kalshi_market_history)::int as m,
      (select count(*) from historical_data.btc_ohlc_1m)::int as csv`;
    assert.deepEqual(n, { btc: 30, eth: 1, m: 1, csv: 5 });
  });
});

Deno.test("importLegacy() rejects a bad trade and the active trade that points at it, importing the rest of trades.db", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const trade = (buy_price: number) => ({
      status: "open",
      date: "2025-07-26",
      time: "14:05:10",
      symbol: "BTC",
      strike: "$114,750",
      side: "Y",
      buy_price,
      position: 1,
      ticker: "KXBTCD-25JUL2615-T114749.99",
    });
    const act = (trade_id: number) => ({
      trade_id,
      date: "2025-07-26",
      time: "14:05:10",
      buy_price: 0.5,
      position: 1,
      status: "active",
    });
    await writeTables(`${dir}/trades.db`, {
      trades: [trade(-0.5), trade(0.5)],
      active_trades: [act(1), act(2)],
    });
    const report = await importLegacy(db.sql, [dir], { clock });
    assert.equal(report.ok, true, formatReport(report));
    const t = entry(report, "trades_db:trades");
    const a = entry(report, "trades_db:active_trades");
    assert.deepEqual([t.inserted, t.excludedByReason], [1, { impossible_value: 1 }]);
    assert.deepEqual([a.inserted, a.excludedByReason], [1, { trade_not_imported: 1 }]);
    const rows = await db.sql`select t.id::int as t, a.trade_id::int as a
      from user_0001.trades t join user_0001.active_trades a on a.trade_id = t.id`;
    assert.deepEqual(rows.map((r) => [r.t, r.a]), [[2, 2]]);
  });
});

function quoteAt(timestamp: string) {
  return {
    timestamp,
    event_ticker: "KXBTCD-25JUL2615",
    strike: 114749.99,
    yes_bid: 56,
    yes_ask: 58,
    no_bid: 42,
    no_ask: 44,
    last_price: 57,
    volume: 1,
  };
}

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

// ---- issue 12 §4: booleans, one bad row, jsonb report, per-reason counts, balance dating ----

const FILL = {
  ticker: "KXBTCD-25JUL2616-T115249.99",
  order_id: "o-9",
  side: "yes",
  action: "buy",
  count: 1,
  created_time: "2025-07-26T19:29:59Z",
};

Deno.test("importLegacy() reads 0/1 and true/false booleans alike on the JSON and SQLite paths and rejects a yes/2/null boolean row, importing the rest", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const takers: unknown[] = [1, 0, true, false, "yes", 2, null];
    await writeJson(`${dir}/json/fills.json`, {
      fills: [
        ...takers.map((t, i) => ({
          ...FILL,
          trade_id: `j-${i}`,
          yes_price: 50,
          no_price: 50,
          is_taker: t,
        })),
        { ...FILL, trade_id: "j-missing", yes_price: 50, no_price: 50 },
      ],
    });
    await writeTables(`${dir}/db/fills.db`, {
      fills: [1, 0, "yes", 2, null].map((t, i) => ({
        ...FILL,
        trade_id: `s-${i}`,
        yes_price: 0.5,
        no_price: 0.5,
        is_taker: t,
      })),
    });
    const report = await importLegacy(db.sql, [dir], { clock });
    assert.equal(report.ok, true, formatReport(report));
    const json = entry(report, "json:fills");
    const sqlite = entry(report, "account_sqlite:fills");
    for (const e of [json, sqlite]) assert.equal(e.status, "ok", e.kind);
    assert.equal(json.inserted, 4);
    assert.equal(json.excludedCount, 4);
    assert.deepEqual(json.excludedByReason, { invalid_boolean: 4 });
    assert.deepEqual(json.excluded.map((x) => x.ref).sort(), [
      "trade_id=j-4",
      "trade_id=j-5",
      "trade_id=j-6",
      "trade_id=j-missing",
    ]);
    assert.equal(sqlite.inserted, 2);
    assert.deepEqual(sqlite.excludedByReason, { invalid_boolean: 3 });
    const rows = await db.sql`select trade_id, is_taker from user_0001.fills order by trade_id`;
    assert.deepEqual(rows.map((r) => [r.trade_id, r.is_taker]), [
      ["j-0", true],
      ["j-1", false],
      ["j-2", true],
      ["j-3", false],
      ["s-0", true],
      ["s-1", false],
    ]);
  });
});

Deno.test("importLegacy() imports every JSON mirror whose one bad row is rejected and counted", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const pos = (ticker: string, position: unknown) => ({
      ticker,
      position,
      total_traded: 100,
      market_exposure: 100,
      realized_pnl: 0,
      fees_paid: 1,
      last_updated_ts: "2025-07-26T19:30:00Z",
    });
    await writeJson(`${dir}/positions.json`, {
      market_positions: [pos("KX-A", 1), pos("KX-B", "abc"), pos("KX-C", 2)],
      event_positions: [],
    });
    const set = (ticker: string, settled_time: unknown) => ({
      ticker,
      market_result: "no",
      yes_count: 0,
      yes_total_cost: 0,
      no_count: 1,
      no_total_cost: 50,
      revenue: 100,
      settled_time,
    });
    await writeJson(`${dir}/settlements.json`, {
      settlements: [
        set("KX-A", "2025-07-26T18:00:03Z"),
        set("KX-B", "2025-13-45T00:00:00Z"),
        set("KX-C", "2025-07-26T18:00:04Z"),
      ],
    });
    const ord = (order_id: string, yes_price: unknown) => ({
      order_id,
      ticker: "KX-A",
      status: "executed",
      yes_price,
      no_price: 50,
      created_time: "2025-07-26T19:29:58Z",
    });
    await writeJson(`${dir}/orders.json`, {
      orders: [ord("o-a", 50), ord("o-b", { cents: 50 }), ord("o-c", 51)],
    });
    await writeJson(`${dir}/fills.json`, {
      fills: [
        { ...FILL, trade_id: "f-a", yes_price: 50, no_price: 50, is_taker: 1 },
        { ...FILL, trade_id: "f-b", yes_price: 150, no_price: 50, is_taker: 0 },
        { ...FILL, trade_id: "f-c", yes_price: 40, no_price: 60, is_taker: 0 },
      ],
    });
    const report = await importLegacy(db.sql, [dir], { clock });
    assert.equal(report.ok, true, formatReport(report));
    for (
      const [kind, reason] of [
        ["json:positions", "non_numeric"],
        ["json:settlements", "bad_timestamp"],
        ["json:orders", "wrong_shape"],
        ["json:fills", "impossible_value"],
      ] as const
    ) {
      const e = entry(report, kind);
      assert.equal(e.status, "ok", kind);
      assert.equal(e.inserted, 2, kind);
      assert.equal(e.sourceRows, 2, kind);
      assert.deepEqual(e.excludedByReason, { [reason]: 1 }, kind);
      assert.match(e.excluded[0]!.ref, /(KX-B|o-b|f-b)/, kind);
    }
    const [n] = await db.sql`select
      (select count(*) from user_0001.positions)::int as p,
      (select count(*) from user_0001.settlements)::int as s,
      (select count(*) from user_0001.orders)::int as o,
      (select count(*) from user_0001.fills)::int as f`;
    assert.deepEqual(n, { p: 2, s: 2, o: 2, f: 2 });
  });
});

Deno.test("importLegacy() stores the run report as a jsonb object whose fields SQL can read, and raw payloads as objects", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const tree = await writeLegacyTree(dir);
    await writePriceDb(`${dir}/gap/eth_price_history.db`, [
      { timestamp: "2025-03-09T01:59:59", price: 3000 },
      { timestamp: "2025-03-09T02:30:00", price: 3001 },
      { timestamp: "2025-03-09T03:00:00", price: 3002 },
    ]);
    const report = await importLegacy(db.sql, [tree.root], { clock });
    assert.equal(report.ok, true);
    const runs = await db.sql`select jsonb_typeof(mismatches) as t,
        mismatches->>'target' as target, (mismatches->>'inserted')::int as inserted,
        (mismatches->'excludedByReason'->>'nonexistent_spring_forward_time')::int as gap
      from system.legacy_import_runs order by id`;
    assert.equal(runs.length, report.entries.length);
    assert.ok(runs.every((r) => r.t === "object"), JSON.stringify(runs.map((r) => r.t)));
    const [price] = runs.filter((r) => r.target === "live_data.btc_price_log" && r.inserted > 0);
    assert.equal(price!.inserted, 300);
    const [eth] = await db.sql`select (mismatches->'excludedByReason'->>
        'nonexistent_spring_forward_time')::int as gap, mismatches->'excluded'->0->>'ref' as ref
      from system.legacy_import_runs where source_path like '%/gap/%'`;
    assert.deepEqual(eth, { gap: 1, ref: "timestamp=2025-03-09T02:30:00" });
    const raws = await db.sql`select trade_id, jsonb_typeof(raw) as t, raw->>'trade_id' as id
      from user_0001.fills where raw is not null order by trade_id`;
    assert.deepEqual(raws.map((r) => [r.trade_id, r.t, r.id]), [
      ["f-1", "object", "f-1"],
      ["f-3", "object", "f-3"],
    ]);
    const [other] = await db.sql`select
      count(*) filter (where jsonb_typeof(raw) <> 'object')::int as n
      from (select raw from user_0001.positions union all select raw from user_0001.orders
            union all select raw from user_0001.settlements) x where raw is not null`;
    assert.equal(other!.n, 0);
  });
});

Deno.test("formatReport() and the JSON report count excluded rows per reason and say how many more were left unlisted", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const rows = [
      ...Array.from({ length: 25 }, (_, i) => ({
        timestamp: `2025-03-09T02:${String(i).padStart(2, "0")}:00`,
        price: 80000 + i,
      })),
      { timestamp: "2025-03-09T04:00:00", price: "abc" },
      { timestamp: "2025-03-09T05:00:00", price: 80100 },
      { timestamp: "2025-11-02T01:30:00", price: 90000 },
      { timestamp: "2025-11-02T01:31:00", price: 90001 },
      { timestamp: "2025-11-02T03:00:00", price: 90002 },
    ];
    await writePriceDb(`${dir}/btc_price_history.db`, rows);
    const out = `${dir}/report.json`;
    assert.equal(await withEnv(db.url, () => main(["import", "--report", out, dir])), 0);
    const json = JSON.parse(await Deno.readTextFile(out)) as LegacyReport;
    const e = entry(json, "price_sqlite:price_log");
    assert.equal(e.status, "ok");
    assert.equal(e.sourceRows, 2);
    assert.equal(e.excludedCount, 28);
    assert.deepEqual(e.excludedByReason, {
      nonexistent_spring_forward_time: 25,
      non_numeric: 1,
      ambiguous_fall_back_hour: 2,
    });
    assert.equal(e.excluded.length, 10);
    const text = formatReport(json);
    assert.match(
      text,
      /excluded 28 rows: 25 nonexistent_spring_forward_time, 2 ambiguous_fall_back_hour, 1 non_numeric/,
    );
    assert.match(text, /… and 18 more excluded rows/);
    assert.equal(text.match(/ excluded timestamp=/g)?.length, 10);
  });
});

/** Copies a legacy tree file by file and gives every copy the modification time `mtime`. */
async function copyTree(from: string, to: string, mtime: Date): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`, mtime);
    else {
      await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
      await Deno.utime(`${to}/${e.name}`, mtime, mtime);
    }
  }
}

for (
  const [label, content, expected] of [
    ["dated by its content", { balance: 11800, updated_ts: 1753560000 }, "2025-07-26 20:00:00"],
    [
      "dated by a naive ET timestamp",
      { balance: 11800, timestamp: "2025-07-26T16:00:00" },
      "2025-07-26 20:00:00",
    ],
    ["without a date in its content", { balance: 11800 }, "2025-08-01 12:00:00"],
  ] as const
) {
  Deno.test(`importLegacy() account_balance.json ${label}: a copied tree verifies and re-imports add no row`, async () => {
    await using db = await createTestDb();
    await withDir(async (dir) => {
      const file = `${dir}/a/accounts/kalshi/prod/account_balance.json`;
      await writeJson(file, content);
      const written = new Date(Date.UTC(2025, 7, 1, 12));
      await Deno.utime(file, written, written);
      const first = await importLegacy(db.sql, [`${dir}/a`], { clock });
      assert.equal(first.ok, true, formatReport(first));
      assert.equal(entry(first, "json:account_balance").inserted, 1);
      await copyTree(`${dir}/a`, `${dir}/b`, new Date(Date.UTC(2025, 10, 20, 9, 30)));
      const verify = await verifyLegacy(db.sql, [`${dir}/b`], { clock });
      assert.equal(verify.ok, true, formatReport(verify));
      for (const root of [`${dir}/b`, `${dir}/a`]) {
        const again = await importLegacy(db.sql, [root], { clock });
        assert.equal(again.ok, true, formatReport(again));
        assert.equal(entry(again, "json:account_balance").inserted, 0, root);
      }
      const rows = await db.sql`select balance_dollars::text as b,
        to_char(observed_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as at
        from user_0001.account_balance`;
      assert.deepEqual(rows.map((r) => [r.b, r.at]), [["118.0000", expected]]);
    });
  });
}

/** Bytes of `text` with every `@BAD@` replaced by 0xC3 0x28 (a lead byte without its follower). */
function withInvalidUtf8(text: string): Uint8Array {
  const parts = text.split("@BAD@").map((p) => new TextEncoder().encode(p));
  const out: number[] = [];
  for (const [i, p] of parts.entries()) out.push(...(i > 0 ? [0xc3, 0x28] : []), ...p);
  return new Uint8Array(out);
}

Deno.test("importLegacy() rejects and counts a row with a NUL, invalid UTF-8, an over-long text or an out-of-range number, and one PostgreSQL refuses, importing the rest with parity", async () => {
  await using db = await createTestDb();
  await withDir(async (dir) => {
    const trade = (extra: Record<string, unknown> = {}) => ({
      status: "open",
      date: "2025-07-26",
      time: "14:05:10",
      symbol: "BTC",
      strike: "$114,750",
      side: "Y",
      buy_price: 0.5,
      position: 1,
      ticker: "KXBTCD-25JUL2615-T114749.99",
      ...extra,
    });
    const act = (trade_id: number, extra: Record<string, unknown> = {}) => ({
      trade_id,
      date: "2025-07-26",
      time: "14:05:10",
      buy_price: 0.5,
      position: 1,
      status: "active",
      ...extra,
    });
    const trades = `${dir}/t/trades.db`;
    await writeTables(trades, {
      trades: [
        trade(),
        trade({ contract: "to be replaced by a NUL" }),
        trade({ symbol: "to be replaced by invalid UTF-8" }),
        trade({ entry_method: "m".repeat(5_000) }),
        trade({ contract: "a legitimate \uFFFD" }),
      ],
      active_trades: [
        act(1),
        act(5, { time_since_entry: 3_000_000_000 }),
        act(99), // no such trade anywhere: PostgreSQL refuses it (foreign key)
        act(5),
        act(2),
      ],
    });
    const sqlite = await import("node:sqlite");
    const tdb = new sqlite.DatabaseSync(trades);
    // node:sqlite binds text up to a NUL: written by SQL, as a legacy writer could have.
    tdb.exec(`update trades set contract = 'BTC ' || char(0) || ' above' where id = 2`);
    tdb.exec(`update trades set symbol = cast(x'c328' as text) where id = 3`);
    tdb.close();
    const fill = (trade_id: string, extra: Record<string, unknown> = {}) => ({
      ...FILL,
      trade_id,
      yes_price: 0.5,
      no_price: 0.5,
      is_taker: 1,
      ...extra,
    });
    await writeTables(`${dir}/a/fills.db`, {
      fills: [
        fill("s-1", { raw_json: '{"trade_id":"s-1"}' }),
        fill("s-2", { raw_json: '{"trade_id":"s-2","note":"\\u0000"}' }),
        fill("s-3", { raw_json: '{"trade_id":"s-3","note":"\\ud800"}' }),
        fill("s-4"),
      ],
    });
    const json = JSON.stringify({
      fills: [
        { ...FILL, trade_id: "f-1", yes_price: 50, no_price: 50, is_taker: 1 },
        { ...FILL, trade_id: "f-\u0000", yes_price: 50, no_price: 50, is_taker: 1 },
        { ...FILL, trade_id: "f-3", ticker: "KX-@BAD@", yes_price: 50, no_price: 50, is_taker: 1 },
        { ...FILL, trade_id: "f-4", note: "\uD800", yes_price: 50, no_price: 50, is_taker: 1 },
        {
          ...FILL,
          trade_id: "f-5",
          ticker: "K".repeat(5_000),
          yes_price: 50,
          no_price: 50,
          is_taker: 1,
        },
        { ...FILL, trade_id: "f-6", count: "@BIG@", yes_price: 50, no_price: 50, is_taker: 0 },
        { ...FILL, trade_id: "f-7", yes_price: 40, no_price: 60, is_taker: 0 },
      ],
    }).replace('"@BIG@"', "1e400");
    await Deno.mkdir(`${dir}/j`);
    await Deno.writeFile(`${dir}/j/fills.json`, withInvalidUtf8(json));

    const report = await importLegacy(db.sql, [dir], { clock, batchSize: 2 });
    assert.equal(report.ok, true, formatReport(report));
    const t = entry(report, "trades_db:trades");
    assert.deepEqual([t.inserted, t.sourceRows, t.excludedByReason], [2, 2, {
      nul_character: 1,
      invalid_unicode: 1,
      text_too_long: 1,
    }]);
    const a = entry(report, "trades_db:active_trades");
    assert.deepEqual([a.inserted, a.sourceRows, a.excludedByReason], [2, 2, {
      impossible_value: 1,
      refused_by_database: 1,
      trade_not_imported: 1,
    }]);
    assert.match(a.excluded.find((x) => x.reason === "refused_by_database")!.detail, /^23503 /);
    const s = entry(report, "account_sqlite:fills");
    assert.deepEqual([s.inserted, s.excludedByReason], [2, {
      nul_character: 1,
      invalid_unicode: 1,
    }]);
    const j = entry(report, "json:fills");
    assert.deepEqual([j.inserted, j.excludedByReason], [2, {
      nul_character: 1,
      invalid_unicode: 2,
      text_too_long: 1,
      wrong_shape: 1, // count 1e400, which JSON reads as Infinity
    }]);
    for (const e of [t, a, s, j]) {
      assert.equal(e.status, "ok", e.kind);
      assert.equal(e.sourceSha256, e.targetSha256, e.kind);
    }
    const [n] = await db.sql`select
      (select count(*) from user_0001.trades)::int as t,
      (select count(*) from user_0001.active_trades)::int as a,
      (select count(*) from user_0001.fills)::int as f`;
    assert.deepEqual(n, { t: 2, a: 2, f: 4 });
    const [legit] = await db.sql`select contract from user_0001.trades where id = 5`;
    assert.equal(legit!.contract, "a legitimate \uFFFD", "a valid U+FFFD is imported");
    // The run rows are stored although excluded refs quote a NUL.
    const [runs] = await db.sql`select count(*)::int as n from system.legacy_import_runs`;
    assert.equal(runs!.n, report.entries.length);

    // And it keeps importing: a second run adds nothing and proves parity again.
    const again = await importLegacy(db.sql, [dir], { clock, batchSize: 2 });
    assert.equal(again.ok, true, formatReport(again));
    assert.ok(again.entries.every((e) => e.inserted === 0));
    // A later verification reads the same rejections from the files; the row PostgreSQL refused
    // is named as missing in the target (it is).
    const verify = await verifyLegacy(db.sql, [dir], { clock });
    const va = entry(verify, "trades_db:active_trades");
    assert.deepEqual(va.mismatches, [{ key: padId(3), problem: "missing_in_target" }]);
    assert.ok(verify.entries.filter((e) => e !== va).every((e) => e.status === "ok"));
  });
});

function padId(id: number): string {
  return String(id).padStart(20, "0");
}
