/**
 * Live and demo data never mix: a database records which it holds (`system.database_mode`), and
 * `deno task start` and `deno task demo` each refuse the other's database with exit 2, before
 * writing anything to it. The processes run as `deno task start` / `deno task demo` run them,
 * against databases made for the test on the server at `DATABASE_URL`.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../lib/errors.ts";
import type { Sql } from "../lib/db.ts";
import {
  checkDatabaseMode,
  markDatabaseMode,
  modeProblem,
  readModeFacts,
} from "../schema/database_mode.ts";
import { createTestDb, eventually } from "./_db.ts";
import { ensureTestPasswords } from "./_db_users.ts";

const START = new URL("../main.ts", import.meta.url).pathname;
const DEMO = new URL("../demo/main.ts", import.meta.url).pathname;

Deno.test("modeProblem() lets each mode use its own or a new database, and refuses the other's", () => {
  const t = "127.0.0.1:5432/recio";
  const ok = (w: "live" | "demo", mark: "live" | "demo" | null, hasData: boolean) =>
    modeProblem(w, { mark, hasData }, t) === undefined;
  assert.equal(ok("live", "live", true), true);
  assert.equal(ok("live", null, false), true, "a new database");
  assert.equal(ok("live", null, true), true, "data from before the mark is live data");
  assert.equal(ok("live", "demo", true), false);
  assert.equal(ok("demo", "demo", true), true);
  assert.equal(ok("demo", null, false), true, "a new database");
  assert.equal(ok("demo", null, true), false, "unmarked data counts as live");
  assert.equal(ok("demo", "live", true), false);
  assert.match(modeProblem("live", { mark: "demo", hasData: true }, t)!, /holds demo data/);
  assert.match(modeProblem("demo", { mark: null, hasData: true }, t)!, /counts as live data/);
});

Deno.test("readModeFacts() sees the mark, or rows in any rec.io table; markDatabaseMode() marks once and the first mark wins", async () => {
  await using db = await createTestDb();
  assert.deepEqual(await readModeFacts(db.sql), { mark: null, hasData: false });
  await db.sql`create schema user_0002`;
  await db.sql`create table user_0002.notes (v text)`;
  await db.sql`insert into user_0002.notes values ('real')`;
  assert.deepEqual(await readModeFacts(db.sql), { mark: null, hasData: true });
  await db.sql`delete from user_0002.notes`;
  await db.sql`create table public.other_app (v text)`;
  await db.sql`insert into public.other_app values ('not ours')`;
  assert.deepEqual(await readModeFacts(db.sql), { mark: null, hasData: false });

  const found = await checkDatabaseMode(db.sql, "demo", "test");
  await markDatabaseMode(db.sql, "demo", found, { by: "test", target: "test" });
  assert.deepEqual(await readModeFacts(db.sql), { mark: "demo", hasData: true });
  // A live start that read the database before the demo marked it loses the race.
  await assert.rejects(
    markDatabaseMode(db.sql, "live", found, { by: "test", target: "test" }),
    ConfigError,
  );
  await assert.rejects(checkDatabaseMode(db.sql, "live", "test"), ConfigError);
  const rows = await db.sql`select mode, marked_by from system.database_mode`;
  assert.deepEqual([...rows], [{ mode: "demo", marked_by: "test" }]);
});

/** Everything a start could write, to compare before and after a refusal. */
async function snapshot(sql: Sql) {
  const [r] = await sql`select
    (select count(*)::int from system.schema_migrations) as migrations,
    (select coalesce(string_agg(mode || ' ' || marked_by, ','), '') from system.database_mode)
      as mark,
    (select count(*)::int from system.supervisor_events) as events,
    (select count(*)::int from system.actor_status) as actors,
    (select count(*)::int from live_data.btc_price_log) as btc,
    (select count(*)::int from live_data.eth_price_log) as eth,
    (select count(*)::int from user_0001.account_balance) as balances,
    (select count(*)::int from pg_class) as relations`;
  return r;
}

/**
 * Runs `script` (the live or the demo entry) on `databaseUrl` until it exits by itself, or until
 * `until()` holds (then it is stopped with SIGTERM); resolves with its exit code.
 */
async function run(
  script: string,
  databaseUrl: string,
  until?: () => Promise<boolean>,
): Promise<number> {
  const dataDir = await Deno.makeTempDir({ prefix: "recio_mode_" });
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) =>
      !k.startsWith("RECIO_") && !k.startsWith("KALSHI_") && k !== "DATABASE_URL" &&
      k !== "STATUS_TOKEN"
    ),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-cron", "--unstable-worker-options", script],
    clearEnv: true,
    env: {
      ...env,
      DATABASE_URL: databaseUrl,
      RECIO_DATA_DIR: dataDir,
      RECIO_HTTP_PORT: "0",
      RECIO_LOG_LEVEL: "fatal",
      RECIO_JOBS_ENABLED: "0",
      // The default tree's account sync logs in as user_0001's own role.
      RECIO_DB_USERS_DIR: ensureTestPasswords(["user_0001"]),
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  // A start that is not refused runs on: stop it, so the test fails on its code, not its time.
  const guard = setTimeout(() => child.kill("SIGTERM"), 60_000);
  try {
    if (until) {
      await eventually(until, { timeoutMs: 60_000, message: "the start wrote to its database" });
      child.kill("SIGTERM");
    }
    return (await child.status).code;
  } finally {
    clearTimeout(guard);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name:
    "deno task start refuses a demo database and deno task demo a live or unmarked one: exit 2, nothing written",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using demoDb = await createTestDb();
    await demoDb.sql`insert into system.database_mode (mode, marked_by) values ('demo', 'test')`;
    await using liveDb = await createTestDb();
    await liveDb.sql`insert into system.database_mode (mode, marked_by) values ('live', 'test')`;
    // A database from before the mark, holding data: the user's live data.
    await using oldDb = await createTestDb();
    await oldDb.sql`insert into live_data.btc_price_log ("timestamp", price)
      values ('2026-01-01T00:00:00Z', 97000)`;

    // The same start on its own database runs and writes: what the refusals below prevent.
    const events = async () => (await snapshot(liveDb.sql))!.events > 0;
    assert.equal(await run(START, liveDb.url, events), 0, "start on a live database");

    for (
      const [what, script, db] of [
        ["start on a demo database", START, demoDb],
        ["demo on a live database (the one start just ran on)", DEMO, liveDb],
        ["demo on an unmarked database with data", DEMO, oldDb],
      ] as const
    ) {
      const before = await snapshot(db.sql);
      assert.equal(await run(script, db.url), 2, what);
      assert.deepEqual(await snapshot(db.sql), before, `${what}: nothing written`);
    }
  },
});
