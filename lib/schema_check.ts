/**
 * The check every one-shot command that needs the schema runs before its first query: a database
 * without the rec.io schema (or with migrations of this checkout missing, or without a user's
 * schema) gets one clear line saying what to run, instead of a bare `relation … does not exist`
 * half-way through. Only `deno task start` (and `migrate`, `import-legacy`) apply migrations: a
 * command pointed at the wrong database should say so, not create a schema there.
 *
 * @example
 * ```ts ignore
 * const problem = await schemaProblem(sql, { command: "kalshi:backfill", users: ["user_0001"] });
 * if (problem) {
 *   console.error(problem);
 *   Deno.exit(2);
 * }
 * ```
 *
 * @module
 */
import type { Sql } from "./db.ts";
import { DatabaseError } from "./errors.ts";

/** What the check looks for. */
export interface SchemaCheckOptions {
  /** The `deno task` name, for the message (`kalshi:backfill`). */
  command: string;
  /** Where the database is, for the message (`describeTarget(url)`; never the password). */
  target?: string;
  /** User schemas that must exist (`user_0002`; the migrations create only `user_0001`). */
  users?: readonly string[];
  /** The migrations this checkout has (default: `schema/migrations/`); unreadable: not checked. */
  migrationsDir?: URL;
}

const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;
const MIGRATE = `run "deno task migrate" with the same DATABASE_URL first`;

async function checkoutMigrations(dir: URL): Promise<Map<number, string> | undefined> {
  try {
    const out = new Map<number, string>();
    for await (const e of Deno.readDir(dir)) {
      const m = e.isFile ? MIGRATION_FILE.exec(e.name) : null;
      if (m) out.set(Number(m[1]), e.name);
    }
    return out;
  } catch {
    return undefined; // no folder to compare with (a compiled binary, no read permission)
  }
}

/**
 * Why `sql`'s database cannot serve `command` (one line saying what to run), or undefined when
 * its schema is there. Connection errors are thrown as they are.
 */
export async function schemaProblem(
  sql: Sql,
  options: SchemaCheckOptions,
): Promise<string | undefined> {
  const where = options.target ? `the database ${options.target}` : "the database";
  const cannot = `Cannot run deno task ${options.command}: ${where}`;
  const [row] = await sql<{ ok: boolean }[]>`
    select to_regclass('system.schema_migrations') is not null as ok`;
  if (!row?.ok) {
    return `${cannot} has no rec.io schema (no system.schema_migrations); ${MIGRATE} ` +
      `(deno task start applies the migrations too)`;
  }
  const files = await checkoutMigrations(
    options.migrationsDir ?? new URL("../schema/migrations/", import.meta.url),
  );
  if (files) {
    const applied = new Set(
      (await sql<{ version: number }[]>`select version from system.schema_migrations`)
        .map((r) => r.version),
    );
    const missing = [...files].filter(([v]) => !applied.has(v)).sort(([a], [b]) => a - b)
      .map(([, name]) => name);
    if (missing.length > 0) {
      const list = missing.slice(0, 3).join(", ") + (missing.length > 3 ? ", …" : "");
      return `${cannot} lacks ${missing.length} migration${
        missing.length === 1 ? "" : "s"
      } of this checkout (${list}); ${MIGRATE}`;
    }
  }
  const wanted = [...new Set(options.users ?? [])];
  if (wanted.length > 0) {
    const found = new Set(
      (await sql<{ nspname: string }[]>`
        select nspname from pg_namespace where nspname = any(${wanted})`).map((r) => r.nspname),
    );
    const absent = wanted.filter((s) => !found.has(s));
    if (absent.length > 0) {
      const [first] = absent;
      return `${cannot} has no schema ${absent.map((s) => `"${s}"`).join(", ")}; create it with ` +
        `"select system.create_user_schema('${first}')"`;
    }
  }
  return undefined;
}

/** {@linkcode schemaProblem} as a throw: a {@linkcode DatabaseError} with the same message. */
export async function requireSchema(sql: Sql, options: SchemaCheckOptions): Promise<void> {
  const problem = await schemaProblem(sql, options);
  if (problem) throw new DatabaseError(problem);
}
