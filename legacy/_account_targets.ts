/**
 * The `user_0001` account tables as import targets, shared by the account SQLite files and the
 * JSON mirrors: compared columns (key first), the natural key, the insert and the parity query.
 * The jsonb `raw` payload is written but not compared (jsonb re-orders keys and numbers).
 *
 * @module
 */
import type { Sql, TransactionSql } from "../lib/db.ts";
import type { Part, ReadContext, SourceRow } from "./_part.ts";
import { canonicalSelect, type Column, insertUnnest } from "./_sql.ts";
import { cursorValues } from "./parity.ts";

/** The legacy user's schema. */
export const USER_SCHEMA = "user_0001";

/** Account target tables. */
export type AccountTable = "fills" | "positions" | "settlements" | "orders" | "account_balance";

const T = (name: string, type: Column["type"]): Column => ({ name, type });

/** Compared columns of each account target, key columns first. */
export const ACCOUNT_COLUMNS: Record<AccountTable, Column[]> = {
  fills: [
    T("trade_id", "text"),
    T("order_id", "text"),
    T("ticker", "text"),
    T("side", "text"),
    T("action", "text"),
    T("count_fp", "numeric"),
    T("yes_price_dollars", "numeric"),
    T("no_price_dollars", "numeric"),
    T("is_taker", "boolean"),
    T("created_time", "timestamptz"),
  ],
  positions: [
    T("ticker", "text"),
    T("position_fp", "numeric"),
    T("total_traded_dollars", "numeric"),
    T("market_exposure_dollars", "numeric"),
    T("realized_pnl_dollars", "numeric"),
    T("fees_paid_dollars", "numeric"),
    T("last_updated_ts", "timestamptz"),
  ],
  settlements: [
    T("ticker", "text"),
    T("settled_time", "timestamptz"),
    T("market_result", "text"),
    T("yes_count_fp", "numeric"),
    T("yes_total_cost_dollars", "numeric"),
    T("no_count_fp", "numeric"),
    T("no_total_cost_dollars", "numeric"),
    T("revenue_dollars", "numeric"),
  ],
  orders: [
    T("order_id", "text"),
    T("client_order_id", "text"),
    T("ticker", "text"),
    T("status", "text"),
    T("action", "text"),
    T("side", "text"),
    T("type", "text"),
    T("yes_price_dollars", "numeric"),
    T("no_price_dollars", "numeric"),
    T("initial_count_fp", "numeric"),
    T("remaining_count_fp", "numeric"),
    T("fill_count_fp", "numeric"),
    T("created_time", "timestamptz"),
    T("expiration_time", "timestamptz"),
    T("last_update_time", "timestamptz"),
  ],
  account_balance: [T("observed_at", "timestamptz"), T("balance_dollars", "numeric")],
};

const KEY_LEN: Record<AccountTable, number> = {
  fills: 1,
  positions: 1,
  settlements: 2,
  orders: 1,
  account_balance: 1,
};

/** Builds the part for one account target; `rows` yields canonical rows (any order). */
export function accountPart(
  kind: string,
  table: AccountTable,
  rows: (ctx: ReadContext) => SourceRow[],
  extra: { lossy?: string[]; notes?: string[] } = {},
): Part {
  const columns = ACCOUNT_COLUMNS[table];
  const target = `${USER_SCHEMA}.${table}`;
  const keyLen = KEY_LEN[table];
  const hasRaw = table !== "account_balance";
  const insertCols = hasRaw ? [...columns, T("raw", "jsonb")] : columns;
  const part: Part = {
    kind,
    target,
    columns: columns.map((c) => c.name),
    keyOf: (v) => v.slice(0, keyLen).map((x) => x ?? ""),
    rows: (ctx) => rows(ctx),
    async insert(tx: TransactionSql, batch: SourceRow[]): Promise<number> {
      if (table === "account_balance") return await insertBalances(tx, target, batch);
      return await insertUnnest(tx, target, insertCols, batch, (r) => [...r.values, r.raw]);
    },
    targetRows(sql: Sql) {
      const order = table === "settlements"
        ? sql`order by ticker collate "C", settled_time`
        : table === "account_balance"
        ? sql`order by observed_at, balance_dollars`
        : sql`order by ${sql(columns[0]!.name)} collate "C"`;
      return cursorValues(
        sql`select ${canonicalSelect(sql, columns)} from ${sql(target)} ${order}`.cursor(2000),
      );
    },
    ...extra,
  };
  return part;
}

/**
 * Balance history has no unique key in the target (the live sync appends), so a row is added
 * only when no row with the same instant and amount exists: idempotent without a constraint.
 */
async function insertBalances(
  tx: TransactionSql,
  target: string,
  rows: SourceRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const at = rows.map((r) => r.values[0]);
  const bal = rows.map((r) => r.values[1]);
  const res = await tx`
    insert into ${tx(target)} (observed_at, balance_dollars)
    select v.at, v.bal
      from unnest(${at as string[]}::text[]::timestamptz[], ${bal as string[]}::text[]::numeric[])
        as v(at, bal)
     where not exists (select 1 from ${tx(target)} b
                        where b.observed_at = v.at and b.balance_dollars = v.bal)`;
  return res.count;
}

/**
 * The part of a balance file with no date in its content (legacy `account_balance.json`
 * `{balance}`): one row whose key is its amount. The row is added with `observedAt()` (the
 * file's modification time) only when no row of that amount is recorded yet, so importing the
 * same file twice, or a copy of it (whose modification time differs), adds one row; parity
 * compares the amount alone.
 */
export function undatedBalancePart(
  kind: string,
  rows: (ctx: ReadContext) => SourceRow[],
  observedAt: () => Date,
  extra: { notes?: string[] } = {},
): Part {
  const target = `${USER_SCHEMA}.account_balance`;
  const column: Column = T("balance_dollars", "numeric");
  return {
    kind,
    target,
    columns: [column.name],
    keyOf: (v) => [v[0] ?? ""],
    rows: (ctx) => rows(ctx),
    async insert(tx: TransactionSql, batch: SourceRow[]): Promise<number> {
      if (batch.length === 0) return 0;
      const at = observedAt().toISOString();
      const bal = batch.map((r) => r.values[0]);
      const res = await tx`
        insert into ${tx(target)} (observed_at, balance_dollars)
        select ${at}::timestamptz, v.bal
          from (select distinct unnest(${bal as string[]}::text[]::numeric[]) as bal) v
         where not exists (select 1 from ${tx(target)} b where b.balance_dollars = v.bal)`;
      return res.count;
    },
    targetRows(sql: Sql, from: string | null) {
      // A balance file holds one amount: the source's only key is `from`.
      return cursorValues(
        sql`select distinct ${canonicalSelect(sql, [column])} from ${sql(target)}
            where balance_dollars = ${from}::numeric`.cursor(10),
      );
    },
    ...extra,
  };
}
