/**
 * A database remembers what it holds: live data (`deno task start`) or simulated data
 * (`deno task demo`), in `system.database_mode` (migration 0060). Each mode refuses the other's
 * database before writing anything to it:
 *
 * 1. {@linkcode checkDatabaseMode} reads, without writing, what the database says about itself
 *    (its mark; without one, whether it holds any rec.io rows) and refuses with a
 *    {@linkcode ConfigError} (exit 2) when it belongs to the other mode;
 * 2. the caller migrates;
 * 3. {@linkcode markDatabaseMode} writes the mark on a database that had none (the first start
 *    wins a race; the loser is refused).
 *
 * An unmarked database is judged by its content: one with rec.io rows predates the mark, so it is
 * the user's live data (the live system marks it and carries on; the demo refuses it); one whose
 * rec.io tables are all empty (or absent) is new and takes the mode of whoever starts first.
 *
 * @example
 * ```ts ignore
 * const found = await checkDatabaseMode(sql, "live", describeTarget(url));
 * await migrate(sql);
 * await markDatabaseMode(sql, "live", found, { by: "deno task start" });
 * ```
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Sql } from "../lib/db.ts";
import { ConfigError } from "../lib/errors.ts";

/** What a database holds. */
export type DatabaseMode = "live" | "demo";

/** What a database says about itself, read before anything is written to it. */
export interface ModeFacts {
  /** Its mark, when it has one. */
  mark: DatabaseMode | null;
  /**
   * Unmarked: whether any rec.io table (the mark and the migration record aside) holds a row.
   * Marked: true (not probed; the mark decides).
   */
  hasData: boolean;
}

/** The schemas rec.io writes: the fixed ones and one `user_NNNN` per Kalshi user. */
const SCHEMAS = /^(live_data|historical_data|system|analytics|user_[0-9]{4})$/;

/** Tables that say nothing about the data: the migration record and the mark itself. */
const BOOKKEEPING = new Set(["system.schema_migrations", "system.database_mode"]);

const COMMAND: Record<DatabaseMode, string> = {
  live: "`deno task start`",
  demo: "`deno task demo`",
};

/**
 * Why a process in mode `wanted` must not use a database with these facts (undefined: it may).
 * `target` names the database (host:port/name, never the password).
 */
export function modeProblem(
  wanted: DatabaseMode,
  facts: ModeFacts,
  target: string,
): string | undefined {
  if (wanted === "live") {
    if (facts.mark !== "demo") return undefined;
    return `Cannot start: the database ${target} holds demo data (it is marked "demo": ` +
      `${COMMAND.demo} wrote it), and ${COMMAND.live} never runs on simulated data. Point ` +
      `DATABASE_URL at the live database, or unset it to use the embedded one in the live data ` +
      `folder (RECIO_DATA_DIR, default ./data)`;
  }
  if (facts.mark === "demo") return undefined;
  if (facts.mark === null && !facts.hasData) return undefined;
  const what = facts.mark === "live"
    ? `holds live data (it is marked "live")`
    : `holds rec.io data written before databases were marked live or demo, so it counts as ` +
      `live data`;
  return `Cannot start the demo: the database ${target} ${what}, and ${COMMAND.demo} never ` +
    `writes simulated data into live data. Unset DATABASE_URL (the demo then runs its own ` +
    `embedded database in its own data folder, <RECIO_DATA_DIR>/demo) or give it an empty ` +
    `database of its own`;
}

/** Reads the mark and, for an unmarked database, whether it holds rec.io rows. Writes nothing. */
export async function readModeFacts(sql: Sql): Promise<ModeFacts> {
  const [found] = await sql<{ marked: boolean }[]>`
    select to_regclass('system.database_mode') is not null as marked`;
  if (found?.marked) {
    const [row] = await sql<{ mode: DatabaseMode }[]>`select mode from system.database_mode`;
    if (row) return { mark: row.mode, hasData: true };
  }
  // Plain tables and partitions (a partitioned parent holds no rows of its own).
  const tables = await sql<{ quoted: string; schema: string; plain: string }[]>`
    select format('%I.%I', n.nspname, c.relname) as quoted, n.nspname as schema,
           n.nspname || '.' || c.relname as plain
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r'`;
  const candidates = tables.filter((t) => SCHEMAS.test(t.schema) && !BOOKKEEPING.has(t.plain));
  // A few statements; each probe stops at the first row: cheap even on a large database.
  try {
    for (let i = 0; i < candidates.length; i += 200) {
      const probes = candidates.slice(i, i + 200)
        .map((t) => `exists (select 1 from ${t.quoted})`).join(" or ");
      const [r] = await sql.unsafe<{ any: boolean }[]>(`select (${probes}) as any`);
      if (r?.any) return { mark: null, hasData: true };
    }
  } catch (e) {
    // A table this role may not read (42501): assume it holds data (the safe side: live).
    if ((e as { code?: string })?.code === "42501") return { mark: null, hasData: true };
    throw e;
  }
  return { mark: null, hasData: false };
}

/**
 * Reads what the database holds and throws a {@linkcode ConfigError} when it belongs to the other
 * mode; nothing is written. Returns the facts for {@linkcode markDatabaseMode}.
 */
export async function checkDatabaseMode(
  sql: Sql,
  wanted: DatabaseMode,
  target: string,
): Promise<ModeFacts> {
  const facts = await readModeFacts(sql);
  const problem = modeProblem(wanted, facts, target);
  if (problem) throw new ConfigError(problem);
  return facts;
}

/**
 * After migrating: marks a database that had no mark with `mode` (once; an existing mark is never
 * changed) and checks the mark that stands, so two first starts in different modes cannot both
 * go on.
 */
export async function markDatabaseMode(
  sql: Sql,
  mode: DatabaseMode,
  facts: ModeFacts,
  options: { by: string; target: string; log?: Logger },
): Promise<void> {
  if (facts.mark === mode) return;
  await sql`insert into system.database_mode (mode, marked_by)
    values (${mode}, ${options.by}) on conflict (singleton) do nothing`;
  const [row] = await sql<{ mode: DatabaseMode }[]>`select mode from system.database_mode`;
  if (row?.mode !== mode) {
    throw new ConfigError(
      modeProblem(mode, { mark: row?.mode ?? null, hasData: true }, options.target) ??
        `Cannot mark the database ${options.target} as ${mode}`,
    );
  }
  if (facts.hasData && mode === "live") {
    options.log?.warn(
      "Marked the database {target} as live: it holds data from before databases were marked. " +
        "If `deno task demo` ever ran on it, it may hold simulated rows",
      { target: options.target },
    );
  } else {
    options.log?.info("Marked the new database {target} as {mode}", {
      target: options.target,
      mode,
    });
  }
}
