/**
 * Schema migrations: `schema/migrations/NNNN_name.sql`, applied in order, each in its own
 * transaction, under an advisory lock (so concurrent starts serialise), recorded with a SHA-256
 * checksum in `system.schema_migrations`. An applied migration whose file changed, or whose file
 * is gone, is a refusal to start naming the file: schema drift was the old system's most common
 * outage.
 *
 * @example
 * ```ts ignore
 * import { migrate } from "./migrate.ts";
 * const { applied } = await migrate(sql);
 * ```
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type Config, loadConfig } from "../lib/config.ts";
import { connectWithRetry, type Sql } from "../lib/db.ts";
import { ConfigError, DatabaseError } from "../lib/errors.ts";
import { setupLogging } from "../lib/log.ts";

/** Key of the advisory lock held while migrating ("recio" as a number). */
export const MIGRATION_LOCK = 0x7265_6369_6f;

const NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  checksum: string;
  text: string;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads and checks the migration files of `dir`, in version order. */
export async function readMigrations(dir: URL): Promise<Migration[]> {
  const out: Migration[] = [];
  const seen = new Map<number, string>();
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    const m = NAME.exec(entry.name);
    if (!m) {
      throw new DatabaseError(
        `Cannot migrate: "${entry.name}" is not a migration name (expected NNNN_name.sql)`,
      );
    }
    const version = Number(m[1]);
    const other = seen.get(version);
    if (other) {
      throw new DatabaseError(
        `Cannot migrate: ${entry.name} and ${other} share version ${m[1]}`,
      );
    }
    seen.set(version, entry.name);
    const bytes = await Deno.readFile(new URL(entry.name, dir));
    out.push({
      version,
      name: entry.name,
      checksum: await sha256(bytes),
      text: new TextDecoder().decode(bytes),
    });
  }
  return out.sort((a, b) => a.version - b.version);
}

/** Applies the missing migrations; refuses on drift. */
export async function migrate(
  sql: Sql,
  options: { dir?: URL; log?: Logger } = {},
): Promise<{ applied: string[]; skipped: string[] }> {
  const migrations = await readMigrations(options.dir ?? new URL("./migrations/", import.meta.url));
  const applied: string[] = [];
  const skipped: string[] = [];
  // A session lock on one reserved connection: held across the per-migration transactions.
  const conn = await sql.reserve();
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await conn`create schema if not exists system`;
    await conn`create table if not exists system.schema_migrations (
      version int primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now(),
      duration_ms int not null)`;
    const done = new Map(
      (await conn<{ version: number; name: string; checksum: string }[]>`
        select version, name, checksum from system.schema_migrations`).map((r) => [r.version, r]),
    );
    const byVersion = new Map(migrations.map((m) => [m.version, m]));
    for (const [version, row] of done) {
      const file = byVersion.get(version);
      if (!file) {
        throw new DatabaseError(
          `Cannot migrate: applied migration ${row.name} is missing from the migrations folder`,
        );
      }
      if (file.checksum !== row.checksum) {
        throw new DatabaseError(
          `Cannot migrate: applied migration ${file.name} has changed (checksum ${
            row.checksum.slice(0, 12)
          } applied, ${file.checksum.slice(0, 12)} on disk)`,
        );
      }
    }
    for (const m of migrations) {
      if (done.has(m.version)) {
        skipped.push(m.name);
        continue;
      }
      const t0 = performance.now();
      try {
        await conn.unsafe("begin");
        await conn.unsafe(m.text);
        await conn`insert into system.schema_migrations (version, name, checksum, duration_ms)
          values (${m.version}, ${m.name}, ${m.checksum}, ${Math.round(performance.now() - t0)})`;
        await conn.unsafe("commit");
      } catch (cause) {
        await conn.unsafe("rollback").catch(() => {});
        const why = cause instanceof Error ? cause.message : String(cause);
        throw new DatabaseError(`Cannot migrate: ${m.name} failed: ${why}`, { cause });
      }
      applied.push(m.name);
      options.log?.info("Applied migration {name}", { name: m.name });
    }
  } finally {
    await conn`select pg_advisory_unlock(${MIGRATION_LOCK})`.catch(() => {});
    conn.release();
  }
  return { applied, skipped };
}

async function main(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 2;
  }
  await setupLogging({ format: config.log.format, level: config.log.level });
  if (!config.databaseUrl) {
    console.error(
      new ConfigError(
        "DATABASE_URL: not set (the embedded database is migrated by `deno task start`)",
      ).message,
    );
    return 2;
  }
  try {
    const sql = await connectWithRetry(config.databaseUrl, {
      timeoutMs: config.dbConnectTimeoutMs,
      max: 2,
    });
    const { applied, skipped } = await migrate(sql);
    console.log(`applied ${applied.length} migration(s), ${skipped.length} already applied`);
    for (const name of applied) console.log(`  ${name}`);
    await sql.end();
    return 0;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 3;
  }
}

if (import.meta.main) Deno.exit(await main());
