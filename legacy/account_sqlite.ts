/**
 * Legacy account SQLite files (`positions.db`, `fills.db`, `settlements.db`, `orders.db`,
 * `account_balance_history.db`, written by `kalshi_account_sync_OLD.py`) → `user_0001.*`.
 * Units as the legacy writer stored them (legacy-recio-v2.md §1.5, §8.3):
 * - fills: `yes_price`/`no_price` dollars (REAL, 4 decimals); `is_taker` 0/1 (read by the parser
 *   the JSON mirrors use too; a missing or other value rejects the row); `count` contracts.
 * - positions: `total_traded`, `market_exposure` cents; `realized_pnl`, `fees_paid` dollars.
 *   Positions are a snapshot: only the newest row (highest rowid) per ticker is imported.
 * - settlements: `yes_total_cost`, `no_total_cost`, `revenue` dollars.
 * - orders: `yes_price`/`no_price` cents; fee and cost columns stay in `raw` only.
 * - balance_history: `balance` cents; `timestamp` naive ET.
 * These tables are small (thousands of rows), so they are read whole and sorted by key.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { type Occurrence, resolveAllFolds } from "./ambiguity.ts";
import { inFallBackHour } from "./canonical.ts";
import {
  badRow,
  boolean,
  checkSqliteText,
  decimal,
  type Part,
  rawJson,
  type ReadContext,
  readRow,
  sortedRows,
  type SourceRow,
  text,
  timestamp,
} from "./_part.ts";
import { accountPart, type AccountTable } from "./_account_targets.ts";
import { tableColumns } from "./price_sqlite.ts";

/** Legacy account tables this module reads. */
export const ACCOUNT_TABLES = [
  "positions",
  "fills",
  "settlements",
  "orders",
  "balance_history",
] as const;

type Row = Record<string, unknown>;
type At = { file: string; ref: string };
type Maker = (r: Row, at: At, ctx: ReadContext, occ: Occurrence | undefined) => SourceRow;

const money4 = { scale: 4, maxAbs: 1e12 };

function col(at: At, column: string) {
  return { ...at, column };
}

function required(v: string | null, at: At, column: string): string {
  if (v === null || v === "") throw badRow(at.file, at.ref, `${column} is missing`);
  return v;
}

function ts(v: unknown, at: At, column: string, ctx: ReadContext, occ?: Occurrence) {
  return timestamp(v, col(at, column), { nowMs: ctx.nowMs, occurrence: occ });
}

function raw(r: Row, at: At): unknown {
  if ("raw_json" in r) return rawJson(r.raw_json, col(at, "raw_json"));
  if ("data" in r) return rawJson(r.data, col(at, "data"));
  return null;
}

const MAKERS: Record<(typeof ACCOUNT_TABLES)[number], { target: AccountTable; make: Maker }> = {
  fills: {
    target: "fills",
    make: (r, at, ctx) => ({
      ref: at.ref,
      values: [
        required(text(r.trade_id), at, "trade_id"),
        text(r.order_id),
        required(text(r.ticker), at, "ticker"),
        text(r.side),
        text(r.action),
        decimal(r.count, col(at, "count"), { nonNegative: true }),
        decimal(r.yes_price, col(at, "yes_price"), { ...money4, nonNegative: true, maxAbs: 1.001 }),
        decimal(r.no_price, col(at, "no_price"), { ...money4, nonNegative: true, maxAbs: 1.001 }),
        boolean(r.is_taker, col(at, "is_taker"), { required: true }),
        ts(r.created_time, at, "created_time", ctx),
      ],
      raw: raw(r, at),
    }),
  },
  positions: {
    target: "positions",
    make: (r, at, ctx) => ({
      ref: at.ref,
      values: [
        required(text(r.ticker), at, "ticker"),
        decimal(r.position, col(at, "position")),
        decimal(r.total_traded, col(at, "total_traded"), { shift: -2, nonNegative: true }),
        decimal(r.market_exposure, col(at, "market_exposure"), { shift: -2 }),
        decimal(r.realized_pnl, col(at, "realized_pnl"), money4),
        decimal(r.fees_paid, col(at, "fees_paid"), { ...money4, nonNegative: true }),
        ts(r.last_updated_ts, at, "last_updated_ts", ctx),
      ],
      raw: raw(r, at),
    }),
  },
  settlements: {
    target: "settlements",
    make: (r, at, ctx) => ({
      ref: at.ref,
      values: [
        required(text(r.ticker), at, "ticker"),
        required(ts(r.settled_time, at, "settled_time", ctx), at, "settled_time"),
        text(r.market_result),
        decimal(r.yes_count, col(at, "yes_count"), { nonNegative: true }),
        decimal(r.yes_total_cost, col(at, "yes_total_cost"), { ...money4, nonNegative: true }),
        decimal(r.no_count, col(at, "no_count"), { nonNegative: true }),
        decimal(r.no_total_cost, col(at, "no_total_cost"), { ...money4, nonNegative: true }),
        decimal(r.revenue, col(at, "revenue"), { ...money4, nonNegative: true }),
      ],
      raw: raw(r, at),
    }),
  },
  orders: {
    target: "orders",
    make: (r, at, ctx) => ({
      ref: at.ref,
      values: [
        required(text(r.order_id), at, "order_id"),
        text(r.client_order_id),
        text(r.ticker),
        text(r.status),
        text(r.action),
        text(r.side),
        text(r.type),
        decimal(r.yes_price, col(at, "yes_price"), { shift: -2, nonNegative: true, maxAbs: 1.001 }),
        decimal(r.no_price, col(at, "no_price"), { shift: -2, nonNegative: true, maxAbs: 1.001 }),
        decimal(r.initial_count, col(at, "initial_count"), { nonNegative: true }),
        decimal(r.remaining_count, col(at, "remaining_count"), { nonNegative: true }),
        decimal(r.fill_count, col(at, "fill_count"), { nonNegative: true }),
        ts(r.created_time, at, "created_time", ctx),
        ts(r.expiration_time, at, "expiration_time", ctx),
        ts(r.last_update_time, at, "last_update_time", ctx),
      ],
      raw: raw(r, at),
    }),
  },
  balance_history: {
    target: "account_balance",
    make: (r, at, ctx, occ) => ({
      ref: at.ref,
      values: [
        required(ts(r.timestamp, at, "timestamp", ctx, occ), at, "timestamp"),
        required(
          decimal(r.balance, col(at, "balance"), { shift: -2, scale: 4, maxAbs: 1e14 }),
          at,
          "balance",
        ),
      ],
    }),
  },
};

const REF_COLUMN: Record<string, string> = {
  fills: "trade_id",
  positions: "ticker",
  settlements: "ticker",
  orders: "order_id",
  balance_history: "timestamp",
};

/** The parts of an account SQLite file. */
export function accountParts(db: DatabaseSync, file: string, tables: readonly string[]): Part[] {
  return tables.map((table) => {
    const spec = MAKERS[table as keyof typeof MAKERS];
    const cols = tableColumns(db, table);
    const notes: string[] = [];
    if (table === "orders") {
      notes.push("fee, cost, queue and group columns kept in raw only");
    }
    const rows = (ctx: ReadContext): SourceRow[] => {
      const all = db.prepare(`select rowid as _rowid, * from "${table}" order by rowid`)
        .all() as Row[];
      const folds = table === "balance_history" && cols.has("timestamp")
        ? resolveAllFolds(
          all.filter((r) => typeof r.timestamp === "string").map((r) => ({
            id: Number(r._rowid),
            text: r.timestamp as string,
          })),
          inFallBackHour,
        )
        : new Map<number, Occurrence>();
      const check = checkSqliteText(db, table, cols.keys(), file);
      let out: SourceRow[] = [];
      for (const r of all) {
        const at = { file, ref: `${REF_COLUMN[table]}=${String(r[REF_COLUMN[table]!])}` };
        const row = readRow(ctx, at.ref, () => {
          check(r, at.ref);
          return spec.make(r, at, ctx, folds.get(Number(r._rowid)));
        });
        if (row) out.push(row);
      }
      if (table === "positions") {
        // A snapshot table whose unique index was dropped: keep the newest row per ticker.
        const newest = new Map<string, SourceRow>();
        for (const r of out) newest.set(r.values[0]!, r);
        out = [...newest.values()];
      }
      return out;
    };
    const part = accountPart(`account_sqlite:${table}`, spec.target, () => [], { notes });
    part.rows = (ctx) => sortedRows(part, rows(ctx));
    return part;
  });
}
