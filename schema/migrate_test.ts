import assert from "node:assert/strict";
import { createSql, type Sql } from "../lib/db.ts";
import { DatabaseError } from "../lib/errors.ts";
import { createTestDb } from "../tests/_db.ts";
import { runDeno } from "../tests/_process.ts";
import { migrate, readMigrations } from "./migrate.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MIGRATE = new URL("../commands/migrate.ts", import.meta.url).pathname;

const MIGRATIONS = new URL("./migrations/", import.meta.url);

/** A temporary migrations folder, removed at the end of the test. */
async function tempDir(
  files: Record<string, string> = {},
  options: { copyReal?: boolean } = {},
): Promise<{ url: URL; path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "recio_migrations_" });
  if (options.copyReal) {
    for await (const e of Deno.readDir(MIGRATIONS)) {
      await Deno.copyFile(new URL(e.name, MIGRATIONS), `${path}/${e.name}`);
    }
  }
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${path}/${name}`, text);
  }
  return {
    path,
    url: new URL(`file://${path}/`),
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

async function realNames(): Promise<string[]> {
  return (await readMigrations(MIGRATIONS)).map((m) => m.name);
}

async function recorded(sql: Sql): Promise<number[]> {
  const rows = await sql<{ version: number }[]>`
    select version from system.schema_migrations order by version`;
  return rows.map((r) => r.version);
}

async function exists(sql: Sql, name: string): Promise<boolean> {
  const [row] = await sql<{ oid: string | null }[]>`select to_regclass(${name})::text as oid`;
  return row?.oid != null;
}

function refusal(pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof DatabaseError, `expected a DatabaseError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  };
}

Deno.test("migrate() applies every migration on an empty database and records checksums", async () => {
  await using db = await createTestDb({ migrated: false });
  const names = await realNames();
  const { applied, skipped } = await migrate(db.sql);
  assert.deepEqual(applied, names);
  assert.deepEqual(skipped, []);

  const rows = await db.sql<{ name: string; checksum: string; duration_ms: number }[]>`
    select name, checksum, duration_ms from system.schema_migrations order by version`;
  const files = await readMigrations(MIGRATIONS);
  assert.deepEqual(rows.map((r) => [r.name, r.checksum]), files.map((f) => [f.name, f.checksum]));
  for (const r of rows) assert.match(r.checksum, /^[0-9a-f]{64}$/);

  for (
    const table of [
      "live_data.btc_price_log",
      "live_data.eth_price_log",
      "live_data.kalshi_events",
      "live_data.kalshi_market_state",
      "live_data.kalshi_market_history",
      "live_data.strike_table",
      "live_data.strike_table_header",
      "live_data.strike_table_history",
      "live_data.kalshi_market_results",
      "historical_data.btc_ohlc_1m",
      "historical_data.eth_ohlc_1m",
      "system.supervisor_events",
      "system.actor_status",
      "system.health_status",
      "system.health_status_latest",
      "system.ingest_gaps",
      "system.ingest_drops",
      "system.legacy_import_runs",
      "system.backups",
      "system.job_runs",
      "system.partition_drops",
      "user_0001.account_balance",
      "user_0001.positions",
      "user_0001.orders",
      "user_0001.fills",
      "user_0001.settlements",
      "user_0001.trades",
      "user_0001.active_trades",
      "user_0001.sync_cursors",
    ]
  ) {
    assert.ok(await exists(db.sql, table), `${table} exists`);
  }
  const [schema] = await db.sql`select 1 from pg_namespace where nspname = 'analytics'`;
  assert.ok(schema, "schema analytics exists");
});

Deno.test("migrate() applies nothing on the second run", async () => {
  await using db = await createTestDb({ migrated: false });
  await migrate(db.sql);
  const before = await recorded(db.sql);
  const { applied, skipped } = await migrate(db.sql);
  assert.deepEqual(applied, []);
  assert.deepEqual(skipped, await realNames());
  assert.deepEqual(await recorded(db.sql), before);
});

Deno.test("migrate() run by two pools at once applies each migration exactly once", async () => {
  await using db = await createTestDb({ migrated: false });
  const a = createSql(db.url, { max: 1 });
  const b = createSql(db.url, { max: 1 });
  try {
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    const names = await realNames();
    assert.deepEqual([...ra.applied, ...rb.applied].sort(), names);
    assert.equal(ra.applied.filter((n) => rb.applied.includes(n)).length, 0);
    assert.deepEqual([...ra.applied, ...ra.skipped].sort(), names);
    assert.deepEqual([...rb.applied, ...rb.skipped].sort(), names);
    assert.equal((await recorded(db.sql)).length, names.length);
  } finally {
    await a.end();
    await b.end();
  }
});

Deno.test("migrate() refuses an applied migration whose file changed, naming the file", async () => {
  await using db = await createTestDb({ migrated: false });
  await using dir = await tempDir({}, { copyReal: true });
  await migrate(db.sql, { dir: dir.url });
  await Deno.writeTextFile(`${dir.path}/0003_live_data.sql`, "\n-- edited\n", { append: true });
  await assert.rejects(
    migrate(db.sql, { dir: dir.url }),
    refusal(/^Cannot migrate: applied migration 0003_live_data\.sql has changed \(checksum /),
  );
});

Deno.test("migrate() refuses when an applied migration's file is missing", async () => {
  await using db = await createTestDb({ migrated: false });
  await using dir = await tempDir({}, { copyReal: true });
  await migrate(db.sql, { dir: dir.url });
  await Deno.remove(`${dir.path}/0004_historical.sql`);
  await assert.rejects(
    migrate(db.sql, { dir: dir.url }),
    refusal(/applied migration 0004_historical\.sql is missing/),
  );
});

Deno.test("migrate() refuses a file whose name is not NNNN_name.sql, naming it", async () => {
  await using db = await createTestDb({ migrated: false });
  for (
    const bad of ["0002_Bad-Name.sql", "2_short.sql", "notes.txt", "0002_x.SQL", "00020_y.sql"]
  ) {
    await using dir = await tempDir({ "0001_ok.sql": "create table t_ok (id int);", [bad]: "" });
    await assert.rejects(
      migrate(db.sql, { dir: dir.url }),
      refusal(new RegExp(`"${bad.replace(".", "\\.")}" in the migrations folder`)),
    );
  }
  await using dir = await tempDir({ "0001_ok.sql": "select 1;" });
  await Deno.mkdir(`${dir.path}/0002_folder.sql`);
  await assert.rejects(migrate(db.sql, { dir: dir.url }), refusal(/"0002_folder\.sql"/));
  assert.equal(await exists(db.sql, "system.schema_migrations"), false, "nothing was touched");
});

Deno.test("migrate() refuses two files with one version number", async () => {
  await using db = await createTestDb({ migrated: false });
  await using dir = await tempDir({ "0001_a.sql": "select 1;", "0001_b.sql": "select 2;" });
  await assert.rejects(
    migrate(db.sql, { dir: dir.url }),
    refusal(/0001_a\.sql and 0001_b\.sql share version 0001/),
  );
});

Deno.test("migrate() leaves nothing of a failing migration behind and does not record it", async () => {
  await using db = await createTestDb({ migrated: false });
  await using dir = await tempDir({
    "0001_ok.sql": "create table public.t_ok (id int); insert into public.t_ok values (1);",
    "0002_bad.sql": "create table public.t_bad (id int); insert into public.t_bad values (1); " +
      "select 1 / 0;",
    "0003_after.sql": "create table public.t_after (id int);",
  });
  await assert.rejects(migrate(db.sql, { dir: dir.url }), refusal(/0002_bad\.sql failed/));
  assert.deepEqual(await recorded(db.sql), [1]);
  assert.equal(await exists(db.sql, "public.t_ok"), true);
  assert.equal(await exists(db.sql, "public.t_bad"), false);
  assert.equal(await exists(db.sql, "public.t_after"), false, "stops at the failure");

  // Fixed, the run resumes where it stopped.
  await Deno.writeTextFile(`${dir.path}/0002_bad.sql`, "create table public.t_bad (id int);");
  const { applied } = await migrate(db.sql, { dir: dir.url });
  assert.deepEqual(applied, ["0002_bad.sql", "0003_after.sql"]);
});

Deno.test("system.create_user_schema() rejects names that are not user_NNNN", async () => {
  await using db = await createTestDb();
  for (
    const bad of ["user_1", "user_00001", "USER_0002", "admin", "user_000a", "user_0002; drop", ""]
  ) {
    await assert.rejects(
      db.sql`select system.create_user_schema(${bad})`,
      (e: unknown) => (e as { code?: string }).code === "22023",
      bad,
    );
    const [row] = await db.sql`select 1 from pg_namespace where nspname = ${bad}`;
    assert.equal(row, undefined, `no schema ${bad}`);
  }
  await assert.rejects(
    db.sql`select system.create_user_schema(null)`,
    (e: unknown) => (e as { code?: string }).code === "22023",
  );
});

Deno.test("system.create_user_schema() gives user_0002 a role that writes its own tables only", async () => {
  await using db = await createTestDb();
  await db.sql`select system.create_user_schema('user_0002')`;
  await db.sql`select system.create_user_schema('user_0002')`; // idempotent
  // A table added later (by a later migration) is covered by the default privileges.
  await db.sql`create table user_0002.extra (id int)`;

  const asRole = <T>(fn: (tx: Sql) => Promise<T>) =>
    db.sql.begin(async (tx) => {
      await tx`set local role user_0002_rw`;
      return await fn(tx as unknown as Sql);
    });
  const code = (e: unknown) => (e as { code?: string }).code === "42501";

  const ids = await asRole(async (tx) => {
    await tx`insert into user_0002.fills (trade_id, ticker, count_fp, yes_price_dollars)
      values ('t1', 'KXBTCD-X', '2.5', '0.4200')`;
    await tx`update user_0002.fills set count_fp = 3 where trade_id = 't1'`;
    await tx`insert into user_0002.extra values (1)`;
    return await tx<{ id: string }[]>`
      insert into user_0002.account_balance (balance_dollars, observed_at)
      values ('12.3400', now()) returning id`;
  });
  assert.equal(ids.length, 1);
  const [fill] = await db.sql<{ count_fp: string }[]>`
    select count_fp::text from user_0002.fills where trade_id = 't1'`;
  assert.equal(fill?.count_fp, "3");

  await assert.rejects(asRole((tx) => tx`select * from user_0001.fills`), code);
  await assert.rejects(
    asRole((tx) => tx`insert into user_0001.fills (trade_id) values ('x')`),
    code,
  );
  await assert.rejects(asRole((tx) => tx`select * from live_data.btc_price_log`), code);
  await assert.rejects(asRole((tx) => tx`create table user_0002.nope (id int)`), code);
});

Deno.test("price logs take one row per timestamp: ON CONFLICT DO NOTHING adds nothing twice", async () => {
  await using db = await createTestDb();
  for (const table of ["btc_price_log", "eth_price_log"]) {
    const insert = () =>
      db.sql`insert into ${db.sql("live_data." + table)} ("timestamp", price)
        values ('2026-01-15T12:00:01Z', '97123.45678901') on conflict ("timestamp") do nothing
        returning id`;
    assert.equal((await insert()).length, 1, `${table} first insert`);
    assert.equal((await insert()).length, 0, `${table} second insert`);
    const rows = await db.sql<{ price: string }[]>`
      select price::text from ${db.sql("live_data." + table)}`;
    assert.deepEqual(rows.map((r) => r.price), ["97123.45678901"]);
  }
});

Deno.test("system.ensure_month_partitions() moves an old month out of the default partition", async () => {
  await using db = await createTestDb();
  const where = () =>
    db.sql<{ part: string; ts: Date; id: string }[]>`
      select tableoid::regclass::text as part, "timestamp" as ts, id
      from live_data.btc_price_log order by "timestamp"`;
  const now = new Date();
  const old = new Date(Date.UTC(now.getUTCFullYear() - 2, now.getUTCMonth(), 10, 12));
  const oldMonth = `${old.getUTCFullYear()}${String(old.getUTCMonth() + 1).padStart(2, "0")}`;
  const nowMonth = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
  await db.sql`insert into live_data.btc_price_log ("timestamp", price)
    values (${now}, '100000.5'), (${old}, '40000.25')`;
  let rows = await where();
  assert.deepEqual(rows.map((r) => r.part), [
    "live_data.btc_price_log_default",
    `live_data.btc_price_log_p${nowMonth}`,
  ]);

  // Rolled back: the rows stay where they were.
  await db.sql.begin(async (tx) => {
    await tx`select system.ensure_month_partitions('live_data.btc_price_log', ${old}, ${old})`;
    throw new Error("rollback");
  }).catch(() => {});
  assert.equal((await where())[0]?.part, "live_data.btc_price_log_default");

  const [made] = await db.sql<{ n: number }[]>`
    select system.ensure_month_partitions('live_data.btc_price_log', ${old}, ${old}) as n`;
  assert.equal(made?.n, 1);
  rows = await where();
  assert.deepEqual(rows.map((r) => r.part), [
    `live_data.btc_price_log_p${oldMonth}`,
    `live_data.btc_price_log_p${nowMonth}`,
  ]);
  assert.equal(rows[0]?.ts.getTime(), old.getTime());
  const [left] = await db.sql<{ n: string }[]>`
    select count(*)::text as n from live_data.btc_price_log_default`;
  assert.equal(left?.n, "0");

  const [again] = await db.sql<{ n: number }[]>`
    select system.ensure_month_partitions('live_data.btc_price_log', ${old}, ${old}) as n`;
  assert.equal(again?.n, 0, "a second call creates nothing");
  // New rows of the old month now go straight to its partition; ids keep counting.
  const [added] = await db.sql<{ part: string }[]>`
    insert into live_data.btc_price_log ("timestamp", price)
    values (${new Date(old.getTime() + 1000)}, '40001') returning tableoid::regclass::text as part`;
  assert.equal(added?.part, `live_data.btc_price_log_p${oldMonth}`);
});

Deno.test("migrations create partitions for the current month through three months ahead", async () => {
  await using db = await createTestDb();
  const rows = await db.sql<{ part: string }[]>`
    select c.relname as part from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'live_data.kalshi_market_history'::regclass order by c.relname`;
  const now = new Date();
  const months = [0, 1, 2, 3].map((k) => {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + k, 1));
    return `kalshi_market_history_p${d.getUTCFullYear()}${
      String(d.getUTCMonth() + 1).padStart(2, "0")
    }`;
  });
  for (const m of months) assert.ok(rows.some((r) => r.part === m), `${m} exists`);
  assert.ok(rows.some((r) => r.part === "kalshi_market_history_default"));
});

Deno.test("system.ensure_month_partitions() refuses a table that is not range-partitioned", async () => {
  await using db = await createTestDb();
  await assert.rejects(
    db.sql`select system.ensure_month_partitions('system.job_runs', now(), now())`,
    /not a table range-partitioned/,
  );
});

Deno.test("deno task migrate without DATABASE_URL says to set it or use deno task start", async () => {
  const out = await runDeno(["run", "-A", MIGRATE], { cwd: ROOT, clearEnv: true });
  assert.equal(out.code, 2);
  assert.match(out.stderr, /DATABASE_URL/);
  assert.match(out.stderr, /deno task start/);
});

Deno.test("deno task migrate migrates DATABASE_URL and prints what it applied", async () => {
  await using db = await createTestDb({ migrated: false });
  const run = () =>
    runDeno(["run", "-A", MIGRATE], {
      cwd: ROOT,
      env: { DATABASE_URL: db.url, RECIO_LOG_LEVEL: "warning" },
    });
  const first = await run();
  assert.equal(first.code, 0, first.stderr);
  for (const name of await realNames()) assert.ok(first.stdout.includes(name), name);
  assert.equal((await recorded(db.sql)).length, (await realNames()).length);
  const second = await run();
  assert.equal(second.code, 0);
  assert.match(second.stdout, /^applied 0 migration\(s\)/);
});
