/**
 * PostgreSQL client tools (`pg_dump`, `pg_restore`) whose major version fits the server: found
 * in a configured folder, the embedded server's own binaries, or the distribution's
 * `/usr/lib/postgresql/<major>/bin` (Debian) and `/usr/pgsql-<major>/bin` (RHEL). A tool is
 * chosen by asking it for its version; the same major as the server wins, else the nearest newer
 * one (a newer `pg_dump` can dump an older server); when none fits, the error names the major
 * version needed.
 *
 * Tools get the connection through `PG*` environment variables built from the URL, never on
 * their command line (where other users of the machine could read the password).
 *
 * @example
 * ```ts ignore
 * const dump = await findPgTool("pg_dump", 15, pgBinDirs());
 * console.log(dump.path, dump.major);
 * ```
 *
 * @module
 */
import { PG_BIN } from "./embedded_db/binaries.ts";
import { ConfigError } from "./errors.ts";
import type { Sql } from "./db.ts";

/** A client tool and its version. */
export interface PgTool {
  path: string;
  major: number;
  version: string;
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function subdirs(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    return [];
  }
}

/** The folder of the embedded server's binaries (it may or may not hold the client tools). */
export function embeddedBinDir(): string {
  return PG_BIN.dir;
}

/**
 * Folders that may hold client tools, in the order they are tried: `preferred` (from
 * `RECIO_PG_BIN_DIR`), the embedded server's, then the distribution's, newest major first. Only
 * existing folders are listed.
 */
export function pgBinDirs(preferred?: string): string[] {
  const dirs: string[] = [];
  if (preferred) dirs.push(preferred);
  dirs.push(embeddedBinDir());
  const byMajor = (names: string[]) =>
    names.filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(b) - Number(a));
  for (const m of byMajor(subdirs("/usr/lib/postgresql"))) {
    dirs.push(`/usr/lib/postgresql/${m}/bin`);
  }
  for (const d of subdirs("/usr").filter((n) => /^pgsql-\d+$/.test(n))) {
    dirs.push(`/usr/${d}/bin`);
  }
  return [...new Set(dirs)].filter(isDir);
}

/** The major version in a `--version` line such as `pg_dump (PostgreSQL) 15.20 (Debian ...)`. */
export function parseToolVersion(line: string): { major: number; version: string } | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(line);
  if (!m) return undefined;
  const first = Number(m[1]);
  // Before 10, the major version had two parts (9.6); those servers are long out of support.
  return { major: first, version: line.trim().split(/\s+/).slice(2).join(" ") || m[0] };
}

/** Runs `<path> --version`; `undefined` when it cannot run or does not answer like a PG tool. */
export async function toolVersion(
  path: string,
): Promise<{ major: number; version: string } | undefined> {
  try {
    const out = await new Deno.Command(path, {
      args: ["--version"],
      clearEnv: true,
      env: { LC_ALL: "C" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return undefined;
    return parseToolVersion(new TextDecoder().decode(out.stdout));
  } catch {
    return undefined;
  }
}

/**
 * The `tool` in `dirs` that fits a server of major version `serverMajor`. Throws a
 * {@linkcode ConfigError} naming the version needed and what was found.
 */
export async function findPgTool(
  tool: "pg_dump" | "pg_restore",
  serverMajor: number,
  dirs: readonly string[],
): Promise<PgTool> {
  const found: PgTool[] = [];
  for (const dir of dirs) {
    const path = `${dir}/${tool}`;
    const v = await toolVersion(path);
    if (v) found.push({ path, ...v });
  }
  const exact = found.find((t) => t.major === serverMajor);
  if (exact) return exact;
  const newer = found.filter((t) => t.major > serverMajor).sort((a, b) => a.major - b.major)[0];
  if (newer) return newer;
  const seen = found.length > 0
    ? `found only ${found.map((t) => `${tool} ${t.major} (${t.path})`).join(", ")}`
    : `found none in ${dirs.length > 0 ? dirs.join(", ") : "any known folder"}`;
  throw new ConfigError(
    `Cannot use ${tool}: the server is PostgreSQL ${serverMajor} and needs ${tool} ${serverMajor} ` +
      `or newer; ${seen}. Install the PostgreSQL ${serverMajor} client tools or set ` +
      `RECIO_PG_BIN_DIR to a folder holding them`,
  );
}

/** The server's version: `server_version_num` and its major part. */
export async function serverVersion(sql: Sql): Promise<{ num: number; major: number }> {
  const [row] = await sql<{ v: string }[]>`select current_setting('server_version_num') as v`;
  const num = Number(row?.v);
  if (!Number.isInteger(num) || num <= 0) {
    throw new Error(`Cannot read the server version: got "${String(row?.v)}"`);
  }
  return { num, major: num >= 100_000 ? Math.floor(num / 10_000) : Math.floor(num / 100) };
}

/**
 * `PG*` environment variables for a tool, from a connection URL (`database` overrides the URL's
 * database). The password travels only here.
 */
export function pgEnv(url: string, database?: string): Record<string, string> {
  const u = new URL(url);
  const env: Record<string, string> = { LC_ALL: "C", PGCONNECT_TIMEOUT: "10" };
  const host = u.searchParams.get("host") ?? u.hostname;
  if (host) env.PGHOST = decodeURIComponent(host);
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const db = database ?? decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (db) env.PGDATABASE = db;
  const sslmode = u.searchParams.get("sslmode");
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}
