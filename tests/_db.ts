/**
 * Test databases on a real PostgreSQL server: each test gets a fresh database, cloned from the
 * migrated template that `tests/run.ts` builds (or migrated on the spot when run outside it), and
 * dropped afterwards.
 *
 * @module
 */
import postgres from "postgres";
import { createSql, type Sql } from "../lib/db.ts";
import { migrate } from "../schema/migrate.ts";

/** The server the tests use. */
export function testServerUrl(): string {
  const url = Deno.env.get("DATABASE_URL");
  if (!url) {
    throw new Error(
      "Cannot run database tests: DATABASE_URL is not set (run them through `deno task test`)",
    );
  }
  return url;
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A database that exists for one test. */
export interface TestDb extends AsyncDisposable {
  name: string;
  url: string;
  sql: Sql;
  drop(): Promise<void>;
}

function admin(): postgres.Sql {
  return postgres(testServerUrl(), { max: 1, onnotice: () => {} });
}

/**
 * Creates a fresh database. `migrated: true` (the default) gives the full schema; `false` gives
 * an empty database (for migration tests).
 */
export async function createTestDb(options: { migrated?: boolean } = {}): Promise<TestDb> {
  const migrated = options.migrated ?? true;
  // Named after the run (tests/run.ts sets the prefix) so a run cleans up only its own.
  const prefix = Deno.env.get("RECIO_TEST_DB_PREFIX") ?? "recio_t_";
  const name = `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const a = admin();
  const template = Deno.env.get("RECIO_TEST_TEMPLATE");
  try {
    if (migrated && template) {
      await a.unsafe(`create database ${name} template ${template}`);
    } else {
      await a.unsafe(`create database ${name}`);
    }
  } finally {
    await a.end();
  }
  const url = withDatabase(testServerUrl(), name);
  const sql = createSql(url, { max: 4, applicationName: "recio-test" });
  if (migrated && !template) await migrate(sql);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await sql.end({ timeout: 1 });
    const b = admin();
    try {
      await b.unsafe(`drop database if exists ${name} with (force)`);
    } finally {
      await b.end();
    }
  };
  return { name, url, sql, drop, [Symbol.asyncDispose]: drop };
}

export { eventually } from "./_eventually.ts";
