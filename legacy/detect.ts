/**
 * Finds legacy stores under the given paths and recognises each by its shape: SQLite files by
 * their tables, JSON mirrors by their file name (then checked against their schema), historical
 * CSVs by name. Only `.db`/`.sqlite`/`.sqlite3`, `.json` and `.csv` files are ever opened;
 * anything else (heartbeat text, keys, `.env`) is not touched. Account files under a `demo`
 * account folder are skipped: demo trading must not mix into the user's real account tables.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { InputError } from "../lib/errors.ts";
import type { Part, Source } from "./_part.ts";
import { ACCOUNT_TABLES, accountParts } from "./account_sqlite.ts";
import { csvParts, isHistoricalCsv } from "./historical_csv.ts";
import { jsonMirrorKind, jsonParts } from "./json_mirrors.ts";
import { MARKET_TABLES, marketLogParts } from "./kalshi_market_log.ts";
import { PRICE_TABLES, priceParts } from "./price_sqlite.ts";
import { TRADE_TABLES, tradeParts } from "./trades_db.ts";

/** A file found but not imported, and why. */
export interface Ignored {
  path: string;
  reason: string;
}

/** A file that looked like a legacy store but could not be opened or recognised. */
export interface Unreadable {
  path: string;
  kind: string;
  error: string;
}

/** What {@linkcode findSources} found. */
export interface Found {
  sources: Source[];
  ignored: Ignored[];
  unreadable: Unreadable[];
}

const SQLITE = /\.(db|sqlite|sqlite3)$/i;

async function* walk(path: string): AsyncGenerator<string> {
  const info = await Deno.stat(path);
  if (info.isFile) {
    yield path;
    return;
  }
  if (!info.isDirectory) return;
  const names: string[] = [];
  for await (const e of Deno.readDir(path)) names.push(e.name);
  names.sort();
  for (const name of names) yield* walk(`${path.replace(/\/+$/, "")}/${name}`);
}

function isDemoAccount(path: string): boolean {
  return /(^|\/)accounts\/[^/]+\/demo\//.test(path.replaceAll("\\", "/"));
}

/** The order sources are imported in: trades before active trades (foreign key), etc. */
function rank(s: Source): number {
  const order = ["price_sqlite", "historical_csv", "kalshi_market_log", "account_sqlite", "json"];
  const i = order.findIndex((k) => s.kind.startsWith(k));
  if (i >= 0) return i;
  return s.parts.some((p) => p.kind.endsWith(":trades")) ? 10 : 11;
}

/** Opens one SQLite file read-only and builds its parts; the handle closes with the source. */
export function openSqlite(path: string): Source {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (e) {
    throw new InputError(
      "corrupt_file",
      `Cannot import legacy file "${path}": ${(e as Error).message}`,
    );
  }
  try {
    let tables: string[];
    try {
      tables = (db.prepare(
        `select name from sqlite_master where type = 'table' and name not like 'sqlite_%'
          order by name`,
      ).all() as { name: string }[]).map((r) => r.name);
    } catch (e) {
      throw new InputError(
        "corrupt_file",
        `Cannot import legacy file "${path}": not a readable SQLite database (${
          (e as Error).message
        })`,
      );
    }
    const known = new Set<string>([
      ...PRICE_TABLES,
      ...MARKET_TABLES,
      ...ACCOUNT_TABLES,
      ...TRADE_TABLES,
    ]);
    const unknown = tables.filter((t) => !known.has(t));
    if (tables.length === 0 || unknown.length > 0) {
      throw new InputError(
        "unknown_table",
        `Cannot import legacy file "${path}": ${
          tables.length === 0
            ? "it holds no tables"
            : `unknown table(s) ${unknown.map((t) => `"${t}"`).join(", ")}`
        } (known: ${[...known].join(", ")})`,
      );
    }
    const parts: Part[] = [];
    const of = (list: readonly string[]) => tables.filter((t) => list.includes(t));
    if (of(PRICE_TABLES).length) parts.push(...priceParts(db, path, of(PRICE_TABLES)));
    if (of(MARKET_TABLES).length) parts.push(...marketLogParts(db, path, of(MARKET_TABLES)));
    if (of(ACCOUNT_TABLES).length) parts.push(...accountParts(db, path, of(ACCOUNT_TABLES)));
    if (of(TRADE_TABLES).length) parts.push(...tradeParts(db, path, of(TRADE_TABLES)));
    const kind = parts[0]!.kind.split(":")[0]!;
    return { path, kind, parts, close: () => db.close() };
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Walks `paths` and recognises every legacy store in them. */
export async function findSources(paths: readonly string[]): Promise<Found> {
  const found: Found = { sources: [], ignored: [], unreadable: [] };
  for (const root of paths) {
    for await (const path of walk(root)) {
      const name = path.split("/").pop()!;
      const relevant = SQLITE.test(name) || /\.(json|csv)$/i.test(name);
      if (!relevant) continue;
      if (isDemoAccount(path)) {
        found.ignored.push({ path, reason: "demo account data is not imported" });
        continue;
      }
      try {
        if (SQLITE.test(name)) {
          found.sources.push(openSqlite(path));
        } else if (/\.json$/i.test(name)) {
          const kind = jsonMirrorKind(name);
          if (!kind) {
            found.ignored.push({ path, reason: "not a legacy store (unknown JSON file name)" });
            continue;
          }
          found.sources.push(await jsonParts(path, kind));
        } else if (isHistoricalCsv(path)) {
          found.sources.push(csvParts(path));
        } else {
          found.ignored.push({ path, reason: "not a legacy 1-minute history CSV" });
        }
      } catch (e) {
        found.unreadable.push({
          path,
          kind: SQLITE.test(name) ? "sqlite" : name.split(".").pop()!,
          error: (e as Error).message,
        });
      }
    }
  }
  found.sources.sort((a, b) => rank(a) - rank(b));
  return found;
}
