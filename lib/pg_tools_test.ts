import assert from "node:assert/strict";
import { ConfigError } from "./errors.ts";
import { findPgTool, parseToolVersion, pgEnv } from "./pg_tools.ts";

Deno.test("parseToolVersion() reads the major version of a PostgreSQL tool", () => {
  assert.deepEqual(parseToolVersion("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n"), {
    major: 15,
    version: "15.20 (Debian 15.20-0+deb12u1)",
  });
  assert.equal(parseToolVersion("pg_restore (PostgreSQL) 18.1")?.major, 18);
  assert.equal(parseToolVersion("something else 1.0"), undefined);
});

Deno.test("pgEnv() passes the connection, password included, only as PG* variables", () => {
  const env = pgEnv("postgres://rec%40io:p%3Ass@db.local:6543/live?sslmode=require");
  assert.equal(env.PGHOST, "db.local");
  assert.equal(env.PGPORT, "6543");
  assert.equal(env.PGUSER, "rec@io");
  assert.equal(env.PGPASSWORD, "p:ss");
  assert.equal(env.PGDATABASE, "live");
  assert.equal(env.PGSSLMODE, "require");
  assert.equal(pgEnv("postgres://u@h/live", "scratch").PGDATABASE, "scratch");
});

Deno.test("findPgTool() fails with a ConfigError naming the major version needed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => findPgTool("pg_dump", 99, [dir]),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /PostgreSQL 99 and needs pg_dump 99 or newer/);
        assert.match(e.message, /RECIO_PG_BIN_DIR/);
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
