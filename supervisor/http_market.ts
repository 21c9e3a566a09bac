/**
 * The status API's read endpoints for market data: the latest price of a symbol
 * (`live_data.<symbol>_price_log`) and a strike table (`live_data.strike_table_header` plus its
 * rows), and both as a live stream (`GET /market/stream`, `http_market_stream.ts`). Symbols are parsed at the edge; price symbols are checked against the price-log tables
 * that exist, so no request text ever becomes an identifier it was not already.
 *
 * @module
 */
import type { Hono } from "hono";
import { z } from "zod";
import type { Clock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import { addMarketStreamRoute } from "./http_market_stream.ts";
import { problem } from "./http_problem.ts";

/** What the market routes need. */
export interface MarketRouteDeps {
  sql: Sql;
  clock: Clock;
  /** Counts a rejected request by reason. */
  reject(reason: string): void;
}

const SymbolParam = z.string().regex(/^[A-Za-z0-9]{1,16}$/).transform((s) => s.toLowerCase());

/** How long a known set of price tables is trusted before a miss re-reads the catalogue. */
const TABLES_TTL_MS = 30_000;

/** The symbols that have a `live_data.<symbol>_price_log` table, read from the catalogue. */
async function priceSymbols(sql: Sql): Promise<Set<string>> {
  const rows = await sql<{ relname: string }[]>`
    select c.relname
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'live_data'
      and c.relkind in ('r', 'p')
      and not c.relispartition
      and c.relname ~ ${"^[a-z0-9]+_price_log$"}`;
  return new Set(rows.map((r) => r.relname.slice(0, -"_price_log".length)));
}

function parseSymbol(raw: string, deps: MarketRouteDeps): string {
  const parsed = SymbolParam.safeParse(raw);
  if (!parsed.success) {
    deps.reject("bad_symbol");
    problem(400, `invalid path parameter "symbol": expected 1-16 letters or digits`);
  }
  return parsed.data;
}

/** The newest row of `symbol`'s price log (an existing table) with its age, or null. */
async function latestPrice(sql: Sql, clock: Clock, symbol: string) {
  // `symbol` is one of the table names that exist: safe as an identifier.
  const rows = await sql`
    select "timestamp", price, momentum, delta_1m, delta_2m, delta_3m, delta_4m, delta_15m,
           delta_30m, received_at
    from ${sql(`live_data.${symbol}_price_log`)}
    order by "timestamp" desc
    limit 1`;
  const row = rows[0];
  if (!row) return null;
  return { symbol, ...row, ageMs: clock.now() - (row.timestamp as Date).getTime() };
}

/** The strike table of `symbol` (header and rows from one snapshot), or null. */
async function strikeTable(sql: Sql, symbol: string) {
  // One snapshot, so the header and the rows come from the same coordinator cycle.
  const [headers, strikes] = await sql.begin(
    "isolation level repeatable read read only",
    (tx) => [
      tx`select * from live_data.strike_table_header where lower(symbol) = ${symbol}`,
      tx`select * from live_data.strike_table where lower(symbol) = ${symbol} order by strike`,
    ],
  );
  const header = headers[0];
  if (!header && strikes.length === 0) return null;
  return {
    symbol,
    stale: header?.stale ?? true,
    stale_reason: header ? header.stale_reason : "no header row",
    header: header ?? null,
    strikes,
  };
}

/**
 * Adds `GET /prices/:symbol/latest`, `GET /strike-table/:symbol` and their live stream
 * `GET /market/stream` (`http_market_stream.ts`) to `app`.
 */
export function addMarketRoutes(app: Hono, deps: MarketRouteDeps): void {
  const { sql, clock } = deps;
  let known: { symbols: Set<string>; at: number } | undefined;

  async function isPriceSymbol(symbol: string): Promise<boolean> {
    const now = clock.monotonic();
    if (known && known.symbols.has(symbol) && now - known.at < TABLES_TTL_MS) return true;
    known = { symbols: await priceSymbols(sql), at: now };
    return known.symbols.has(symbol);
  }

  app.get("/prices/:symbol/latest", async (c) => {
    const symbol = parseSymbol(c.req.param("symbol"), deps);
    if (!(await isPriceSymbol(symbol))) problem(404, `unknown symbol "${symbol}"`);
    const doc = await latestPrice(sql, clock, symbol);
    if (!doc) problem(404, `no prices recorded for "${symbol}"`);
    return c.json(doc);
  });

  app.get("/strike-table/:symbol", async (c) => {
    const symbol = parseSymbol(c.req.param("symbol"), deps);
    const doc = await strikeTable(sql, symbol);
    if (!doc) problem(404, `no strike table for "${symbol}"`);
    return c.json(doc);
  });

  addMarketStreamRoute(app, {
    sql,
    clock,
    reject: deps.reject,
    symbols: async () => [...(await priceSymbols(sql))].sort(),
    readPrice: (symbol) => latestPrice(sql, clock, symbol),
    readTable: (symbol) => strikeTable(sql, symbol),
  });
}
