/**
 * `schemaProblem()` against a real PostgreSQL: an empty database, one behind this checkout's
 * migrations, a missing user schema, and a migrated one; and `deno task status` using it.
 */
import assert from "node:assert/strict";
import { requireSchema, schemaProblem } from "../lib/schema_check.ts";
import { DatabaseError } from "../lib/errors.ts";
import { describeTarget } from "../lib/db.ts";
import { loadConfig } from "../lib/config.ts";
import { readStatus } from "../commands/status.ts";
import { createTestDb } from "./_db.ts";

Deno.test("schemaProblem() on an empty database says to run deno task migrate", async () => {
  await using db = await createTestDb({ migrated: false });
  const target = describeTarget(db.url);
  const problem = await schemaProblem(db.sql, { command: "model:build", target });
  assert.ok(problem?.startsWith(`Cannot run deno task model:build: the database ${target} `));
  assert.match(problem!, /no rec\.io schema.*run "deno task migrate" with the same DATABASE_URL/);
  await assert.rejects(requireSchema(db.sql, { command: "model:build" }), DatabaseError);
  // The check itself wrote nothing.
  const [r] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_namespace where nspname in ('system', 'live_data')`;
  assert.equal(r!.n, 0);
});

Deno.test("schemaProblem() names the migrations a database lacks", async () => {
  await using db = await createTestDb();
  const [last] = await db.sql<{ version: number; name: string }[]>`
    select version, name from system.schema_migrations order by version desc limit 1`;
  await db.sql`delete from system.schema_migrations where version = ${last!.version}`;
  const problem = await schemaProblem(db.sql, { command: "history:backfill" });
  assert.match(problem!, new RegExp(`lacks 1 migration of this checkout \\(${last!.name}\\)`));
  assert.match(problem!, /deno task migrate/);
});

Deno.test("schemaProblem() wants each named user schema and passes a migrated database", async () => {
  await using db = await createTestDb();
  assert.equal(await schemaProblem(db.sql, { command: "status" }), undefined);
  assert.equal(
    await schemaProblem(db.sql, { command: "kalshi:backfill", users: ["user_0001"] }),
    undefined,
  );
  const problem = await schemaProblem(db.sql, {
    command: "kalshi:backfill",
    users: ["user_0001", "user_0002"],
  });
  assert.match(problem!, /no schema "user_0002".*system\.create_user_schema\('user_0002'\)/);
  await db.sql`select system.create_user_schema('user_0002')`;
  assert.equal(
    await schemaProblem(db.sql, { command: "kalshi:backfill", users: ["user_0002"] }),
    undefined,
  );
});

Deno.test("readStatus() on a database without the schema says to run deno task migrate", async () => {
  await using db = await createTestDb({ migrated: false });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String((l.addr as Deno.NetAddr).port);
  l.close(); // nothing answers there: status falls back to the database
  const r = await readStatus(loadConfig({ DATABASE_URL: db.url, RECIO_HTTP_PORT: port }), {
    timeoutMs: 500,
  });
  assert.equal(r.source, "none");
  assert.match(r.summary, /Cannot run deno task status: .*no rec\.io schema.*deno task migrate/);
  assert.doesNotMatch(r.summary, /does not exist/);
});
