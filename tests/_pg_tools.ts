/**
 * Whether `pg_dump` and `pg_restore` that fit the test server are installed. The embedded
 * PostgreSQL 18 ships none, so on a machine with only the embedded server the backup tests that
 * need real dumps are ignored (and say why) instead of failing; CI's server has its tools.
 *
 * @module
 */
import { createSql } from "../lib/db.ts";
import { findPgTool, pgBinDirs, serverVersion } from "../lib/pg_tools.ts";

async function probe(): Promise<string | undefined> {
  const url = Deno.env.get("DATABASE_URL");
  if (!url) return "DATABASE_URL is not set";
  const sql = createSql(url, { max: 1 });
  try {
    const { major } = await serverVersion(sql);
    await findPgTool("pg_dump", major, pgBinDirs());
    await findPgTool("pg_restore", major, pgBinDirs());
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await sql.end();
  }
}

/** Why the backup tests cannot run here, or undefined when they can. */
export const NO_PG_TOOLS: string | undefined = await probe();
if (NO_PG_TOOLS) console.warn(`Backup tests that need pg_dump are ignored: ${NO_PG_TOOLS}`);
