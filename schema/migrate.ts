/**
 * Schema migrations: `schema/migrations/NNNN_name.sql`, applied in version order, each in its own
 * transaction, recorded with a SHA-256 checksum of the file's bytes in `system.schema_migrations`.
 * Every step holds a transaction-level advisory lock, so two processes migrating one database at
 * once serialise and each migration runs exactly once. An applied migration whose file changed,
 * or whose file is gone, is a refusal naming the file: schema drift was the old system's most
 * common outage.
 *
 * Migration files are plain SQL run inside a transaction, so they cannot contain statements that
 * refuse one (`create index concurrently`, `vacuum`).
 *
 * `deno task migrate` (commands/migrate.ts) migrates the database named by `DATABASE_URL`.
 *
 * @example
 * ```ts ignore
 * import { migrate } from "./migrate.ts";
 * const { applied, skipped } = await migrate(sql);
 * ```
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Sql, TransactionSql } from "../lib/db.ts";
import { DatabaseError } from "../lib/errors.ts";
import { getLogger } from "../lib/log.ts";

/** Key of the advisory lock held while migrating ("recio" as a number). */
export const MIGRATION_LOCK = 0x7265_6369_6f;

/** Valid migration file names; the four digits are the version. */
export const MIGRATION_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  /** SHA-256 of the file's bytes, lower-case hex. */
  checksum: string;
  text: string;
}

/** Result of {@linkcode migrate}: file names applied now and already applied before. */
export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

/** Lower-case hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads and checks the migration files of `dir`, in version order. */
export async function readMigrations(dir: URL): Promise<Migration[]> {
  const out: Migration[] = [];
  const seen = new Map<number, string>();
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (cause) {
    throw new DatabaseError(`Cannot migrate: migrations folder is not readable`, { cause });
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const m = entry.isFile ? MIGRATION_NAME.exec(entry.name) : null;
    if (!m) {
      throw new DatabaseError(
        `Cannot migrate: "${entry.name}" in the migrations folder is not a migration file ` +
          `(expected NNNN_name.sql, lower-case letters, digits and _)`,
      );
    }
    const version = Number(m[1]);
    const other = seen.get(version);
    if (other) {
      throw new DatabaseError(
        `Cannot migrate: ${other} and ${entry.name} share version ${m[1]}`,
      );
    }
    seen.set(version, entry.name);
    const bytes = await Deno.readFile(new URL(entry.name, dir));
    out.push({
      version,
      name: entry.name,
      checksum: await sha256Hex(bytes),
      text: new TextDecoder().decode(bytes),
    });
  }
  return out.sort((a, b) => a.version - b.version);
}

function short(checksum: string): string {
  return checksum.slice(0, 12);
}

/** Throws naming the file when an applied migration changed or its file is gone. */
function checkDrift(files: readonly Migration[], done: readonly AppliedRow[]): void {
  const byVersion = new Map(files.map((m) => [m.version, m]));
  for (const row of [...done].sort((a, b) => a.version - b.version)) {
    const file = byVersion.get(row.version);
    if (!file) {
      throw new DatabaseError(
        `Cannot migrate: applied migration ${row.name} is missing from the migrations folder`,
      );
    }
    if (file.name !== row.name) {
      throw new DatabaseError(
        `Cannot migrate: applied migration ${row.name} was renamed to ${file.name}`,
      );
    }
    if (file.checksum !== row.checksum) {
      throw new DatabaseError(
        `Cannot migrate: applied migration ${file.name} has changed (checksum ${
          short(row.checksum)
        } applied, ${short(file.checksum)} on disk)`,
      );
    }
  }
}

async function lock(tx: TransactionSql): Promise<void> {
  await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
}

function failure(what: string, cause: unknown): DatabaseError {
  if (cause instanceof DatabaseError) return cause;
  const why = cause instanceof Error ? cause.message : String(cause);
  return new DatabaseError(`Cannot migrate: ${what}: ${why}`, { cause });
}

/**
 * Applies the migrations of `options.dir` (default `schema/migrations/`) that the database does
 * not have yet, each in its own transaction; refuses with a {@linkcode DatabaseError} naming the
 * file when an applied migration changed or disappeared.
 */
export async function migrate(
  sql: Sql,
  options: { dir?: URL; log?: Logger } = {},
): Promise<MigrateResult> {
  const log = options.log ?? getLogger("migrate");
  const files = await readMigrations(options.dir ?? new URL("./migrations/", import.meta.url));

  let done: AppliedRow[];
  try {
    done = await sql.begin(async (tx) => {
      await lock(tx);
      await tx`create schema if not exists system`;
      await tx`create table if not exists system.schema_migrations (
        version int primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now(),
        duration_ms int not null)`;
      return await tx<AppliedRow[]>`select version, name, checksum from system.schema_migrations`;
    });
  } catch (cause) {
    throw failure("cannot read system.schema_migrations", cause);
  }
  checkDrift(files, done);

  const result: MigrateResult = { applied: [], skipped: [] };
  const recorded = new Set(done.map((r) => r.version));
  for (const m of files) {
    if (recorded.has(m.version)) {
      result.skipped.push(m.name);
      continue;
    }
    let ran: boolean;
    try {
      ran = await sql.begin(async (tx) => {
        await lock(tx);
        // Another process may have applied it while this one waited for the lock.
        const [row] = await tx<AppliedRow[]>`
          select version, name, checksum from system.schema_migrations
          where version = ${m.version}`;
        if (row) {
          checkDrift([m], [row]);
          return false;
        }
        const t0 = performance.now();
        await tx.unsafe(m.text);
        await tx`insert into system.schema_migrations (version, name, checksum, duration_ms)
          values (${m.version}, ${m.name}, ${m.checksum}, ${Math.round(performance.now() - t0)})`;
        return true;
      });
    } catch (cause) {
      throw failure(`${m.name} failed (nothing of it was applied)`, cause);
    }
    if (ran) {
      result.applied.push(m.name);
      log.info("Applied migration {name}", { name: m.name });
    } else {
      result.skipped.push(m.name);
    }
  }
  return result;
}
