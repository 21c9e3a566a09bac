import assert from "node:assert/strict";
import { exists, pidAlive } from "../../tests/_process.ts";
import { embeddedDbProblem, startEmbeddedDb } from "./mod.ts";
import { createSql, describeTarget } from "../db.ts";
import { DatabaseError } from "../errors.ts";
import { type ChildProcess, spawn } from "node:child_process";

const FIXTURE = new URL("../../tests/fixtures/embedded_start.ts", import.meta.url).pathname;

/** A temp dir the `postgres` OS user can traverse (when we run as root), removed afterwards. */
async function tempParent(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "recio-embedded-" });
  await Deno.chmod(path, 0o755);
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

async function query<T>(url: string, fn: (sql: ReturnType<typeof createSql>) => Promise<T>) {
  const sql = createSql(url, { max: 1 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function rejection(p: Promise<unknown>): Promise<DatabaseError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DatabaseError, `expected a DatabaseError, got ${e}`);
    return e;
  }
  assert.fail("expected a rejection");
}

Deno.test("startEmbeddedDb() initialises an empty dir, answers queries, and keeps data across a warm restart", async () => {
  await using parent = await tempParent();
  const dir = `${parent.path}/pg`;
  const cold = await startEmbeddedDb({ dir });
  try {
    assert.equal(cold.host, "127.0.0.1");
    assert.equal(cold.dir, dir);
    assert.ok(cold.port > 0);
    assert.equal((await Deno.stat(`${dir}.password`)).mode! & 0o777, 0o600);
    await query(cold.url, async (sql) => {
      await sql`create table kept (v text)`;
      await sql`insert into kept values ('cold')`;
    });
  } finally {
    await cold.stop();
  }
  await cold.stop(); // idempotent
  assert.equal(exists(`${dir}/postmaster.pid`), false);
  assert.equal(exists(`${dir}.owner`), false);

  await using warm = await startEmbeddedDb({ dir });
  const rows = await query(warm.url, (sql) => sql<{ v: string }[]>`select v from kept`);
  assert.deepEqual(rows.map((r) => r.v), ["cold"]);
  const listen = await query(warm.url, (sql) =>
    sql<{ v: string }[]>`
    select setting as v from pg_settings where name = 'listen_addresses'`);
  assert.equal(listen[0]?.v, "127.0.0.1");
});

Deno.test("startEmbeddedDb() refuses a dir whose owner is alive, and after the owner is SIGKILLed stops its leftover server and starts with the data", async () => {
  await using parent = await tempParent();
  const dir = `${parent.path}/pg`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIXTURE, dir],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  await reader.cancel();
  const ready = JSON.parse(out) as { port: number; pid: number };
  assert.equal(ready.pid, child.pid);

  const inUse = await rejection(startEmbeddedDb({ dir }));
  assert.match(inUse.message, new RegExp(`in use by process ${child.pid}`));

  child.kill("SIGKILL");
  await child.status;
  const leftover = Number((await Deno.readTextFile(`${dir}/postmaster.pid`)).split("\n")[0]);
  assert.ok(pidAlive(leftover), "the server outlives its SIGKILLed parent");

  await using db = await startEmbeddedDb({ dir });
  assert.equal(pidAlive(leftover), false);
  const rows = await query(db.url, (sql) => sql<{ note: string }[]>`select note from fixture_rows`);
  assert.deepEqual(rows.map((r) => r.note), ["written before the kill"]);
});

Deno.test("startEmbeddedDb() removes a stale postmaster.pid whose pid is dead or is not a postmaster", async () => {
  await using parent = await tempParent();
  const dir = `${parent.path}/pg`;
  await (await startEmbeddedDb({ dir })).stop();
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  // A pid reused by another process of the postgres OS user: PostgreSQL alone would refuse it.
  const squatter = Deno.uid() === 0 ? await postgresUserProcess() : undefined;
  const pids = [gone.pid, Deno.pid, ...(squatter ? [squatter.pid!] : [])];
  try {
    await startWithPidFiles(dir, pids);
    for (const pid of pids.slice(1)) assert.ok(pidAlive(pid), `live pid ${pid} was not signalled`);
  } finally {
    if (squatter) {
      const exited = new Promise((r) => squatter.once("exit", r));
      squatter.kill("SIGKILL");
      await exited;
    }
  }
});

async function postgresUserProcess(): Promise<ChildProcess> {
  const uid = Number(
    new TextDecoder().decode(
      (await new Deno.Command("id", { args: ["-u", "postgres"] }).output())
        .stdout,
    ),
  );
  const p = spawn("sleep", ["60"], { uid, stdio: "ignore" });
  await new Promise((r) => p.once("spawn", r));
  return p;
}

async function startWithPidFiles(dir: string, pids: number[]): Promise<void> {
  for (const pid of pids) {
    // Same layout as PostgreSQL's: pid, data dir, start time, port, socket dir, host, key, status.
    await Deno.writeTextFile(
      `${dir}/postmaster.pid`,
      `${pid}\n${dir}\n1700000000\n5432\n\n127.0.0.1\n 1 2\nready   \n`,
    );
    const db = await startEmbeddedDb({ dir });
    try {
      const one = await query(db.url, (sql) => sql<{ one: number }[]>`select 1 as one`);
      assert.equal(one[0]?.one, 1);
    } finally {
      await db.stop();
    }
  }
}

Deno.test("startEmbeddedDb() on a taken port rejects with a DatabaseError quoting the server log, and the dir stays usable", async () => {
  await using parent = await tempParent();
  const dir = `${parent.path}/pg`;
  await (await startEmbeddedDb({ dir })).stop();
  const password = (await Deno.readTextFile(`${dir}.password`)).trim();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const e = await rejection(startEmbeddedDb({ dir, port }));
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(e.message, /Server log: .*(already in use|could not bind|could not create)/i);
    assert.equal(e.message.includes(password), false);
  } finally {
    taken.close();
  }
  assert.equal(exists(`${dir}.owner`), false);
  await using db = await startEmbeddedDb({ dir, port });
  assert.equal(db.port, port);
});

Deno.test("startEmbeddedDb() never shows the password: not in describeTarget(url), not in a wrong-password error", async () => {
  await using parent = await tempParent();
  const dir = `${parent.path}/pg`;
  const db = await startEmbeddedDb({ dir });
  const password = (await Deno.readTextFile(`${dir}.password`)).trim();
  try {
    assert.ok(password.length >= 32);
    assert.ok(db.url.includes(encodeURIComponent(password)));
    assert.equal(describeTarget(db.url), `127.0.0.1:${db.port}/postgres`);
  } finally {
    await db.stop();
  }
  const wrong = "0".repeat(48);
  await Deno.writeTextFile(`${dir}.password`, wrong);
  const e = await rejection(startEmbeddedDb({ dir }));
  assert.match(e.message, /does not match/);
  assert.equal(e.message.includes(password), false);
  assert.equal(e.message.includes(wrong), false);
  assert.equal(exists(`${dir}/postmaster.pid`), false, "the server is not left running");
});

Deno.test("startEmbeddedDb() rejects a cluster without its password file, and a non-empty dir that is no cluster, deleting nothing", async () => {
  await using parent = await tempParent();
  const dir = `${parent.path}/pg`;
  await (await startEmbeddedDb({ dir })).stop();
  await Deno.remove(`${dir}.password`);
  const noPassword = await rejection(startEmbeddedDb({ dir }));
  assert.match(noPassword.message, /password file .* is missing/);
  assert.ok(exists(`${dir}/PG_VERSION`));

  const other = `${parent.path}/not-a-cluster`;
  await Deno.mkdir(other);
  await Deno.writeTextFile(`${other}/notes.txt`, "keep me");
  const notEmpty = await rejection(startEmbeddedDb({ dir: other }));
  assert.match(notEmpty.message, /not empty/);
  assert.equal(await Deno.readTextFile(`${other}/notes.txt`), "keep me");
});

Deno.test({
  name:
    "startEmbeddedDb() as root rejects a data dir under a parent the postgres user cannot enter",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using parent = await tempParent();
    const closed = `${parent.path}/closed`;
    await Deno.mkdir(closed, { mode: 0o700 });
    await Deno.chmod(closed, 0o700);
    const e = await rejection(startEmbeddedDb({ dir: `${closed}/pg` }));
    assert.match(e.message, /cannot enter .*closed/);
    assert.equal(exists(`${closed}/pg`), false);
  },
});

Deno.test({
  name:
    "embeddedDbProblem() as root finds a data dir under a folder the postgres user cannot enter, and nothing to say here otherwise",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await using parent = await tempParent();
    assert.equal(await embeddedDbProblem([`${parent.path}/pg`]), undefined);
    const closed = `${parent.path}/closed`;
    await Deno.mkdir(closed);
    await Deno.chmod(closed, 0o700);
    const problem = await embeddedDbProblem([`${closed}/x/pg`]);
    assert.match(problem ?? "", /cannot enter .*closed \(mode 700\)/);
  },
});
