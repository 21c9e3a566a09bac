/**
 * Per-user database logins against a real PostgreSQL: what a user's role may and may not do (as a
 * compromised worker would try it), that a user's children get only their own login and never the
 * supervisor's URL, that a second user gets its schema and syncs as its own role, the password
 * files (generated, supplied, missing, readable by others), and SCRAM logins on a server that
 * checks passwords (the test server may trust every local connection).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { createSql, type Sql } from "../lib/db.ts";
import {
  passwordFile,
  provisionUserLogins,
  readUserPassword,
  USER_POSTGRES_ENV,
  userDatabaseUrl,
  userRole,
} from "../lib/db_users.ts";
import { embeddedLayout, startEmbeddedDb } from "../lib/embedded_db/mod.ts";
import { ConfigError, SupervisorError } from "../lib/errors.ts";
import { migrate } from "../schema/migrate.ts";
import type { InitMessage } from "../schema/messages.ts";
import { validateChildSpecs } from "../supervisor/child_spec.ts";
import { kalshiChildren } from "../supervisor/children.ts";
import { kalshiAccountSyncSpecs } from "../supervisor/kalshi_children.ts";
import { startSystem } from "../supervisor/main.ts";
import { Supervisor } from "../supervisor/mod.ts";
import { createTestDb, eventually } from "./_db.ts";
import { ensureTestPasswords, testUserLogins } from "./_db_users.ts";
import { startSupervisor, writeChildrenFile } from "./_system.ts";
import { fillJson } from "./_kalshi.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

/** The SQLSTATE `fn` fails with (it must fail). */
async function refusal(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return "succeeded";
}

async function asRole<T>(url: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = createSql(url, { max: 1 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "recio-users-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

Deno.test("provisionUserLogins() gives user_0002 a login that cannot read user_0001, create roles, schemas or tables elsewhere, read system tables or SET ROLE to the supervisor's role", async () => {
  await using db = await createTestDb();
  await db.sql`insert into user_0001.fills (trade_id, ticker) values ('t-1', 'SECRET')`;
  const [me] = await db.sql<{ admin: string }[]>`select current_user as admin`;
  const admin = me!.admin;
  const [backup] = await db.sql<{ backupRun: string }[]>`
    insert into system.job_runs (job, started_at, status) values ('backup', now(), 'running')
    returning id as "backupRun"`;
  const backupRun = backup!.backupRun;

  const logins = await testUserLogins(db, ["user_0002"]);
  const url = logins.get("user_0002")!;
  assert.match(url, /^postgres:\/\/user_0002_rw:[^@]+@/);
  const [schema] = await db.sql`select 1 from pg_namespace where nspname = 'user_0002'`;
  assert.ok(schema, "user_0002 got its schema");
  const [role] = await db.sql<Record<string, boolean>[]>`
    select rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
      from pg_roles where rolname = 'user_0002_rw'`;
  assert.deepEqual(role, {
    rolcanlogin: true,
    rolsuper: false,
    rolcreaterole: false,
    rolcreatedb: false,
    rolreplication: false,
    rolbypassrls: false,
  });

  await asRole(url, async (sql) => {
    const [who] = await sql<
      { u: string; s: string }[]
    >`select current_user as u, session_user as s`;
    assert.deepEqual(who, { u: "user_0002_rw", s: "user_0002_rw" });
    // Its own schema: read and write.
    await sql`insert into user_0002.fills (trade_id, ticker) values ('t-2', 'MINE')`;
    assert.equal((await sql`select * from user_0002.fills`).length, 1);
    // Its own ingest runs, through the two functions of migration 0080.
    const [run] = await sql<{ id: string }[]>`
      select system.start_job_run('kalshi_historical_ingest:user_0002', now()) as id`;
    const id = run!.id;
    await sql`select system.finish_job_run(${id}, now(), 'ok', null, '{}'::jsonb)`;

    const denied = {
      "read user_0001": () => sql`select * from user_0001.fills`,
      "write user_0001": () => sql`insert into user_0001.fills (trade_id) values ('x')`,
      "create role": () => sql.unsafe("create role recio_evil login superuser"),
      "alter itself": () => sql.unsafe("alter role user_0002_rw createrole"),
      "create schema": () => sql.unsafe("create schema evil"),
      "create database": () => sql.unsafe("create database recio_evil"),
      "table in public": () => sql.unsafe("create table public.evil (a int)"),
      "table in system": () => sql.unsafe("create table system.evil (a int)"),
      "table in its schema": () => sql.unsafe("create table user_0002.evil (a int)"),
      "temporary table": () => sql.unsafe("create temporary table evil (a int)"),
      "system.job_runs": () => sql`select * from system.job_runs`,
      "system.supervisor_events": () => sql`select * from system.supervisor_events`,
      "system.actor_status": () => sql`select * from system.actor_status`,
      "system.schema_migrations": () => sql`select * from system.schema_migrations`,
      "live_data": () => sql`select * from live_data.kalshi_market_state`,
      "set role supervisor": () => sql.unsafe(`set role "${admin}"`),
      "set role user_0001": () => sql.unsafe("set role user_0001_rw"),
      "another job's run": () => sql`select system.start_job_run('backup', now())`,
      "user_0001's ingest": () =>
        sql`select system.start_job_run('kalshi_historical_ingest:user_0001', now())`,
      "close another run": () =>
        sql`select system.finish_job_run(${backupRun}, now(), 'ok', null, null)`,
    };
    const codes: Record<string, string> = {};
    for (const [what, fn] of Object.entries(denied)) codes[what] = await refusal(fn);
    assert.deepEqual(
      codes,
      Object.fromEntries(Object.keys(denied).map((k) => [k, "42501"])),
      "every attempt is a permission error",
    );
  });
  const [run] = await db.sql<{ status: string }[]>`
    select status from system.job_runs where id = ${backupRun}`;
  assert.equal(run?.status, "running", "the other job's run is untouched");
  assert.equal((await db.sql`select 1 from pg_roles where rolname = 'recio_evil'`).length, 0);
});

/** A worker double that records how it was created and what it was sent, and stops on request. */
function recordingFactory() {
  const created: { url: string; options: WorkerOptions; inits: InitMessage[] }[] = [];
  const factory = (url: string, options: WorkerOptions) => {
    const record = { url, options, inits: [] as InitMessage[] };
    created.push(record);
    const w = {
      onmessage: null as ((e: MessageEvent) => void) | null,
      onerror: null,
      onmessageerror: null,
      postMessage(m: { type: string }) {
        if (m.type === "init") record.inits.push(m as InitMessage);
        if (m.type === "init") {
          queueMicrotask(() => w.onmessage?.({ data: { type: "ready" } } as MessageEvent));
        }
        if (m.type === "stop") {
          queueMicrotask(() => w.onmessage?.({ data: { type: "stopped" } } as MessageEvent));
        }
      },
      terminate() {},
      addEventListener() {},
      removeEventListener() {},
    };
    return w as unknown as Worker;
  };
  return { created, factory };
}

Deno.test("Supervisor - each user's account sync gets its own login and exactly its database host, never the supervisor's URL", async () => {
  await using db = await createTestDb();
  const logins = await testUserLogins(db, ["user_0001", "user_0002"]);
  const specs = validateChildSpecs(kalshiAccountSyncSpecs({
    baseUrl: "https://kalshi.example/trade-api/v2",
    wsUrl: "wss://kalshi.example/trade-api/ws/v2",
    users: ["user_0001", "user_0002"],
    readPerSecond: 20,
    writePerSecond: 10,
  }));
  const { created, factory } = recordingFactory();
  const sup = new Supervisor(specs, {
    node: "test",
    events: { record: () => {}, setStatus: () => {} },
    databaseUrl: db.url,
    userDatabaseUrls: logins,
    workerFactory: factory,
    tickMs: 20,
  });
  sup.start();
  try {
    await eventually(() => created.length === 2 && created.every((c) => c.inits.length === 1));
    const db_ = new URL(db.url);
    const dbHost = `${db_.hostname}:${db_.port || 5432}`;
    for (const [i, user] of ["user_0001", "user_0002"].entries()) {
      const c = created[i]!;
      const init = c.inits[0]!;
      assert.equal(init.databaseUrl, logins.get(user), `${user} got its own login`);
      assert.equal(new URL(init.databaseUrl!).username, `${user}_rw`);
      const seen = JSON.stringify({ init, options: c.options });
      assert.ok(!seen.includes(db.url), "the supervisor's URL is nowhere in what the worker gets");
      assert.ok(!seen.includes(`${db_.username}@`), "nor its role");
      const other = user === "user_0001" ? "user_0002" : "user_0001";
      assert.ok(!seen.includes(logins.get(other)!), "nor the other user's login");
      const perms = (c.options as { deno: { permissions: Record<string, unknown> } }).deno
        .permissions;
      assert.deepEqual(perms.net, ["kalshi.example:443", dbHost]);
      assert.deepEqual(perms.env, [...USER_POSTGRES_ENV]);
      for (const secretEnv of ["PGPASSWORD", "PGUSER", "USER"]) {
        assert.ok(!(perms.env as string[]).includes(secretEnv), `no env access to ${secretEnv}`);
      }
    }
  } finally {
    await sup.stop();
  }
});

Deno.test("Supervisor - refuses a child naming a user without a login, or with unrestricted env, read or run", () => {
  const spec = (extra: Record<string, unknown> = {}) =>
    validateChildSpecs([{
      id: "kalshi_account_sync:user_0002",
      module: "file:///x/worker.ts",
      database: { user: "user_0002" },
      ...extra,
    }]);
  const opts = (logins?: Map<string, string>) => ({
    node: "test",
    events: { record: () => {}, setStatus: () => {} },
    databaseUrl: "postgres://postgres@127.0.0.1:5432/x",
    userDatabaseUrls: logins,
  });
  assert.throws(
    () => new Supervisor(spec(), opts()),
    (e: unknown) =>
      e instanceof SupervisorError && /no database login for user_0002/.test(e.message),
  );
  const logins = new Map([["user_0002", "postgres://user_0002_rw:pw@127.0.0.1:5432/x"]]);
  for (const permissions of [{ env: "inherit" }, { read: true }, { run: true }]) {
    assert.throws(
      () => new Supervisor(spec({ permissions }), opts(logins)),
      (e: unknown) => e instanceof SupervisorError && /may not have unrestricted/.test(e.message),
    );
  }
  assert.throws(
    () => validateChildSpecs([{ id: "a", module: "file:///x.ts", database: { user: "bob" } }]),
    (e: unknown) => e instanceof SupervisorError && /names like user_0001/.test(e.message),
  );
});

Deno.test("startSystem() with KALSHI_USERS=user_0001,user_0002 creates user_0002's schema and syncs it as user_0002_rw", async () => {
  await using db = await createTestDb();
  const keys = await generateTestKeys();
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 5 }, (_, i) => fillJson(i));
  await using dir = await tempDir();
  const keyPath = `${dir.path}/kalshi.pem`;
  await Deno.writeTextFile(keyPath, keys.pkcs8Pem);
  const users = ["user_0001", "user_0002"];
  const config = loadConfig({
    DATABASE_URL: db.url,
    RECIO_NODE: "test",
    RECIO_HTTP_PORT: "0",
    RECIO_JOBS_ENABLED: "0",
    KALSHI_BASE_URL: fake.baseUrl,
    KALSHI_API_KEY_ID: keys.keyId,
    KALSHI_PRIVATE_KEY_PATH: keyPath,
    KALSHI_USERS: users.join(","),
    RECIO_DB_USERS_DIR: ensureTestPasswords(users),
  });
  assert.equal((await db.sql`select 1 from pg_namespace where nspname = 'user_0002'`).length, 0);
  const system = await startSystem(config, {
    children: kalshiChildren(config).filter((s) => s.id.startsWith("kalshi_account_sync:")),
  });
  try {
    await eventually(async () => {
      const [r] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from user_0002.fills`.catch(() => [{ n: 0 }]);
      return r!.n === 5;
    }, { timeoutMs: 30_000, message: "user_0002's fills were not synced" });
    // Its connections are its own role's.
    const sessions = await eventually(async () => {
      const rows = await db.sql<{ usename: string; app: string }[]>`
        select usename::text, application_name as app from pg_stat_activity
         where datname = current_database() and application_name like 'recio-kalshi_account-%'`;
      return rows.length >= 2 && new Set(rows.map((r) => r.app)).size === 2 ? rows : undefined;
    });
    for (const s of sessions) {
      assert.equal(s.usename, `${s.app.replace("recio-kalshi_account-", "")}_rw`);
    }
  } finally {
    await system.shutdown(0, "test over");
  }
});

Deno.test("readUserPassword() generates a 0600 file in a 0700 folder once, refuses a file others may read (unchanged), a missing one it may not generate, and bad contents", async () => {
  await using dir = await tempDir();
  const folder = `${dir.path}/pg.users`;
  const first = readUserPassword(folder, "user_0002", { generate: true });
  const file = passwordFile(folder, "user_0002");
  assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
  assert.equal(Deno.statSync(folder).mode! & 0o777, 0o700);
  assert.equal(readUserPassword(folder, "user_0002", { generate: true }), first, "kept");
  assert.deepEqual([...Deno.readDirSync(folder)].map((e) => e.name), ["user_0002.password"]);

  Deno.chmodSync(file, 0o644);
  assert.throws(
    () => readUserPassword(folder, "user_0002", { generate: true }),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes(file) && /mode is 0644/.test(e.message) &&
      !e.message.includes(first),
  );
  assert.equal(Deno.statSync(file).mode! & 0o777, 0o644, "refused, not fixed");

  assert.throws(
    () => readUserPassword(folder, "user_0003", { generate: false }),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes("user_0003") &&
      e.message.includes(passwordFile(folder, "user_0003")) &&
      /create role user_0003_rw login password/.test(e.message),
  );
  for (const bad of ["", "two words", "a\nb\n", "pässwörd"]) {
    const f = passwordFile(folder, "user_0004");
    Deno.writeTextFileSync(f, bad, { mode: 0o600 });
    Deno.chmodSync(f, 0o600);
    assert.throws(
      () => readUserPassword(folder, "user_0004", { generate: false }),
      (e: unknown) => e instanceof ConfigError && /alone on one line/.test(e.message),
      JSON.stringify(bad),
    );
  }
  assert.throws(() => userRole("bob"), ConfigError);
  assert.throws(
    () => loadConfig({ KALSHI_USERS: "user_0001,bob" }),
    (e: unknown) =>
      e instanceof ConfigError && /KALSHI_USERS: names like user_0001/.test(e.message),
  );
});

Deno.test("userDatabaseUrl() keeps the hosts, TLS and failover parameters of the base URL, and nothing of its credentials", () => {
  const url = userDatabaseUrl(
    "postgres://admin:s3cret@db1:5433,db2/recio?sslmode=require&target_session_attrs=primary&" +
      "user=admin&options=-c%20role%3Dadmin",
    { user: "user_0002", password: "p@ss:w/rd", database: "recio" },
  );
  assert.equal(
    url,
    "postgres://user_0002_rw:p%40ss%3Aw%2Frd@db1:5433,db2:5432/recio?sslmode=require&" +
      "target_session_attrs=primary",
  );
});

Deno.test("supervisor process - a missing password file for an external database exits 2 naming the user and the file", async () => {
  await using db = await createTestDb();
  await using dir = await tempDir();
  const file = await writeChildrenFile([{
    id: "kalshi_account_sync:user_0002",
    module: new URL("../actors/kalshi_account_sync/worker.ts", import.meta.url).href,
    args: { user: "user_0002", baseUrl: "http://127.0.0.1:1" },
    database: { user: "user_0002" },
  }]);
  try {
    const p = startSupervisor({
      DATABASE_URL: db.url,
      RECIO_CHILDREN_FILE: file,
      RECIO_DB_USERS_DIR: dir.path,
    });
    await p.child.status;
    assert.equal(await p.stop(), 2, p.stderr());
    assert.match(p.stderr(), /Cannot give user_0002 its database login: no password file/);
    assert.ok(p.stderr().includes(`${dir.path}/user_0002.password`), p.stderr());
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("provisionUserLogins() on a server that checks passwords: generated once beside the cluster, logs in with SCRAM, refuses a wrong password, keeps it across starts", async () => {
  const parent = await Deno.makeTempDir({ prefix: "recio-embedded-" });
  await Deno.chmod(parent, 0o755); // the postgres OS user must get through (as root)
  const pgDir = `${parent}/pg`;
  const usersDir = embeddedLayout(pgDir).users;
  try {
    await using server = await startEmbeddedDb({ dir: pgDir });
    const admin = createSql(server.url, { max: 2 });
    try {
      await migrate(admin);
      const provision = () =>
        provisionUserLogins(admin, server.url, {
          users: ["user_0001"],
          dir: usersDir,
          generate: true,
        });
      const url = (await provision()).get("user_0001")!;
      assert.equal(Deno.statSync(`${usersDir}/user_0001.password`).mode! & 0o777, 0o600);
      await asRole(url, async (sql) => {
        const [r] = await sql<{ u: string }[]>`select current_user as u`;
        assert.equal(r?.u, "user_0001_rw");
      });
      const wrong = new URL(url);
      wrong.password = "not-the-password";
      assert.equal(await refusal(() => asRole(wrong.href, (sql) => sql`select 1`)), "28P01");
      assert.equal((await provision()).get("user_0001"), url, "the same login on the next start");
      // A role whose password was changed behind our back gets the file's again.
      await admin.unsafe("alter role user_0001_rw password 'changed-elsewhere'");
      assert.equal((await provision()).get("user_0001"), url);
      await asRole(url, (sql) => sql`select 1`);
    } finally {
      await admin.end({ timeout: 1 });
    }
  } finally {
    await Deno.remove(parent, { recursive: true }).catch(() => {});
  }
});
