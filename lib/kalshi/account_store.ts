/**
 * The store of one user's Kalshi account tables (`<user>.account_balance`, `positions`, `orders`,
 * `fills`, `settlements`, `sync_cursors`). Shared by `kalshi_account_sync` and
 * `kalshi_historical_ingest`, which write the same tables and must agree on the natural keys
 * (actors never import each other, so the queries live here, in one module).
 *
 * Every write is idempotent: fills by `trade_id` and settlements by `(ticker, settled_time)` are
 * inserted once; orders by `order_id` are upserted (their status changes); positions are replaced
 * as one snapshot in one transaction. Multi-row writes are one statement per batch, rows travel as
 * one JSON parameter (`jsonb_to_recordset`), amounts as decimal strings.
 *
 * One row PostgreSQL refuses for its data (a number beyond its column, a time it cannot store)
 * never stops the others: the batch is written again with each part in a savepoint, halved down
 * to the refused rows (`lib/bad_rows.ts`), which are left out and kept for the caller to count
 * and log ({@linkcode AccountStore.takeRefused}); every other row is written. Outside a caller's
 * transaction this path runs only after a refusal (in a transaction of its own); inside one,
 * every batch runs in a savepoint, since a refused statement would abort the caller's
 * transaction. A refused balance is left out alone. For the positions snapshot, a refused
 * position keeps the row stored for its ticker (with its older `synced_at`), if any, while every
 * other position is replaced and the closed ones deleted: no real position is deleted because of
 * one bad row, and none is half-written. A connection error is thrown as before.
 *
 * Fencing (cluster mode, `lib/fence.ts`): a store given the account sync's `lease` proves its
 * current grant in every write, first in each transaction and in the WHERE of each single
 * statement (`system.lease_fence` is executable by the per-user roles). A stale grant is refused
 * with SQLSTATE `RF001`, a lease not held with a `FencedError` before anything is sent; either way
 * nothing of that write is committed. Without `lease` (the historical ingest, a command) nothing is
 * checked.
 *
 * @module
 */
import { cleanText, isDataError, rejectionReason, writeSplitting } from "../bad_rows.ts";
import type { Sql, TransactionSql } from "../db.ts";
import { fence, fenceCondition, requireGrant } from "../fence.ts";
import {
  type AccountStore,
  type AccountStoreOptions,
  type Db,
  REFUSED_KEPT,
  type RefusedRow,
} from "./account_store_types.ts";

export type {
  AccountStore,
  AccountStoreOptions,
  RefusedRow,
  SyncCursor,
} from "./account_store_types.ts";

/** Rows per statement (one JSON parameter each). */
const BATCH = 2_000;

function inTransaction(db: Db): db is TransactionSql {
  return typeof (db as { savepoint?: unknown }).savepoint === "function";
}

function chunks<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += BATCH) out.push(rows.slice(i, i + BATCH));
  return out;
}

/** Keeps the last row of each key (one statement may not upsert a key twice). */
function lastByKey<T>(rows: readonly T[], key: (r: T) => string): T[] {
  return [...new Map(rows.map((r) => [key(r), r])).values()];
}

/** Creates the store of `user` (a `user_NNNN` schema). */
export function createAccountStore(
  sql: Sql,
  user: string,
  options: AccountStoreOptions = {},
): AccountStore {
  if (!/^user_[0-9]{4}$/.test(user)) {
    throw new RangeError(`Cannot use account schema "${user}": expected a name like user_0001`);
  }
  const t = (name: string) => sql(`${user}.${name}`);
  /** The grant a write proves now (throws `FencedError` while the lease is not held). */
  const grant = () => requireGrant(options.lease?.current);
  /** The fence of a single statement, on `q`. */
  const fenced = (q: Db) => fenceCondition(q, grant());
  let refusedCount = 0;
  let refused: RefusedRow[] = [];

  function refuse(rows: readonly RefusedRow[]): void {
    refusedCount += rows.length;
    for (const r of rows) if (refused.length < REFUSED_KEPT) refused.push(r);
  }

  /** `rows` through `insert` in savepoints of `tx`, halved down to the refused rows. */
  async function splitting<R>(
    tx: TransactionSql,
    table: string,
    rows: readonly R[],
    key: (r: R) => string,
    insert: (q: Db, batch: readonly R[]) => Promise<number>,
  ): Promise<{ written: number; refused: RefusedRow[] }> {
    let written = 0;
    const out: RefusedRow[] = [];
    await writeSplitting(rows, {
      write: async (part) => {
        written += await tx.savepoint((sp) => insert(sp as unknown as Db, part)) as number;
      },
      onReject: (r, e) =>
        out.push({ table, key: cleanText(key(r), 200), reason: rejectionReason(e) }),
    });
    return { written, refused: out };
  }

  /**
   * Writes `rows` in batches with `insert` (returns rows written), leaving out and recording the
   * rows PostgreSQL refuses for their data.
   */
  async function writeRows<R>(
    db: Db,
    table: string,
    rows: readonly R[],
    key: (r: R) => string,
    insert: (q: Db, batch: readonly R[]) => Promise<number>,
  ): Promise<number> {
    let n = 0;
    for (const batch of chunks(rows)) {
      if (inTransaction(db)) {
        const r = await splitting(db, table, batch, key, insert);
        refuse(r.refused);
        n += r.written;
        continue;
      }
      try {
        n += await insert(db, batch);
      } catch (error) {
        if (!isDataError(error)) throw error;
        const r = await db.begin((tx) =>
          splitting(tx as unknown as TransactionSql, table, batch, key, insert)
        );
        refuse(r.refused);
        n += r.written;
      }
    }
    return n;
  }

  type PositionRow = {
    ticker: string;
    position_fp: string;
    total_traded_dollars: string | null;
    market_exposure_dollars: string | null;
    realized_pnl_dollars: string | null;
    fees_paid_dollars: string | null;
    resting_orders_count: number | null;
    last_updated_ts: string | null;
    raw: Record<string, unknown>;
  };

  const insertPositions = (syncedAt: Date) => async (q: Db, batch: readonly PositionRow[]) =>
    (await q`insert into ${t("positions")} (ticker, position_fp, total_traded_dollars,
        market_exposure_dollars, realized_pnl_dollars, fees_paid_dollars,
        resting_orders_count, last_updated_ts, raw, synced_at)
      select ticker, position_fp, total_traded_dollars, market_exposure_dollars,
        realized_pnl_dollars, fees_paid_dollars, resting_orders_count, last_updated_ts,
        raw, ${syncedAt}
      from jsonb_to_recordset(${JSON.stringify(batch)}::text::jsonb) as x(ticker text,
        position_fp numeric, total_traded_dollars numeric, market_exposure_dollars numeric,
        realized_pnl_dollars numeric, fees_paid_dollars numeric, resting_orders_count int,
        last_updated_ts timestamptz, raw jsonb)
      on conflict (ticker) do update set position_fp = excluded.position_fp,
        total_traded_dollars = excluded.total_traded_dollars,
        market_exposure_dollars = excluded.market_exposure_dollars,
        realized_pnl_dollars = excluded.realized_pnl_dollars,
        fees_paid_dollars = excluded.fees_paid_dollars,
        resting_orders_count = excluded.resting_orders_count,
        last_updated_ts = excluded.last_updated_ts, raw = excluded.raw,
        synced_at = excluded.synced_at`).count;

  return {
    user,

    async insertBalance(balance, observedAt) {
      try {
        await sql`insert into ${t("account_balance")}
            (balance_dollars, portfolio_value_dollars, observed_at)
          select ${balance.balanceDollars}::numeric, ${balance.portfolioValueDollars}::numeric,
            ${observedAt}::timestamptz
          where ${fenced(sql)}`;
      } catch (error) {
        if (!isDataError(error)) throw error;
        refuse([{
          table: "account_balance",
          key: observedAt.toISOString(),
          reason: rejectionReason(error),
        }]);
      }
    },

    async replacePositions(positions, syncedAt) {
      const rows: PositionRow[] = lastByKey(positions, (p) => p.ticker).map((p) => ({
        ticker: p.ticker,
        position_fp: p.positionFp,
        total_traded_dollars: p.totalTradedDollars,
        market_exposure_dollars: p.marketExposureDollars,
        realized_pnl_dollars: p.realizedPnlDollars,
        fees_paid_dollars: p.feesPaidDollars,
        resting_orders_count: p.restingOrdersCount,
        last_updated_ts: p.lastUpdatedTs,
        raw: p.raw,
      }));
      const insert = insertPositions(syncedAt);
      try {
        return await sql.begin(async (tx) => {
          await fence(tx, grant());
          await tx`delete from ${t("positions")}`;
          let n = 0;
          for (const batch of chunks(rows)) n += await insert(tx as unknown as Db, batch);
          return n;
        });
      } catch (error) {
        if (!isDataError(error)) throw error;
      }
      // Refused: closed positions deleted, each other one upserted, a refused one left as stored.
      const r = await sql.begin(async (tx) => {
        await fence(tx, grant());
        const tickers = rows.map((p) => p.ticker);
        await tx`delete from ${t("positions")} where not (ticker = any(${tickers}::text[]))`;
        let written = 0;
        const out: RefusedRow[] = [];
        for (const batch of chunks(rows)) {
          const part = await splitting(
            tx as unknown as TransactionSql,
            "positions",
            batch,
            (p) => p.ticker,
            insert,
          );
          written += part.written;
          out.push(...part.refused);
        }
        return { written, refused: out };
      });
      refuse(r.refused);
      return r.written;
    },

    async upsertOrders(orders, db = sql) {
      const rows = lastByKey(orders, (o) => o.orderId).map((o) => ({
        order_id: o.orderId,
        client_order_id: o.clientOrderId,
        ticker: o.ticker,
        status: o.status,
        action: o.action,
        side: o.side,
        type: o.type,
        yes_price_dollars: o.yesPriceDollars,
        no_price_dollars: o.noPriceDollars,
        initial_count_fp: o.initialCountFp,
        remaining_count_fp: o.remainingCountFp,
        fill_count_fp: o.fillCountFp,
        created_time: o.createdTime,
        expiration_time: o.expirationTime,
        last_update_time: o.lastUpdateTime,
        raw: o.raw,
      }));
      return await writeRows(db, "orders", rows, (o) => o.order_id, async (q, batch) => {
        const r = await q`insert into ${t("orders")} (order_id, client_order_id, ticker, status,
            action, side, type, yes_price_dollars, no_price_dollars, initial_count_fp,
            remaining_count_fp, fill_count_fp, created_time, expiration_time, last_update_time,
            raw, synced_at)
          select *, now() from jsonb_to_recordset(${JSON.stringify(batch)}::text::jsonb) as x(
            order_id text, client_order_id text, ticker text, status text, action text,
            side text, type text, yes_price_dollars numeric, no_price_dollars numeric,
            initial_count_fp numeric, remaining_count_fp numeric, fill_count_fp numeric,
            created_time timestamptz, expiration_time timestamptz, last_update_time timestamptz,
            raw jsonb)
          where ${fenced(q)}
          on conflict (order_id) do update set
            client_order_id = excluded.client_order_id, ticker = excluded.ticker,
            status = excluded.status, action = excluded.action, side = excluded.side,
            type = excluded.type, yes_price_dollars = excluded.yes_price_dollars,
            no_price_dollars = excluded.no_price_dollars,
            initial_count_fp = excluded.initial_count_fp,
            remaining_count_fp = excluded.remaining_count_fp,
            fill_count_fp = excluded.fill_count_fp, created_time = excluded.created_time,
            expiration_time = excluded.expiration_time,
            last_update_time = excluded.last_update_time, raw = excluded.raw,
            synced_at = excluded.synced_at
          where ${t("orders")}.raw is distinct from excluded.raw`;
        return r.count;
      });
    },

    async insertFills(fills, db = sql) {
      const rows = fills.map((f) => ({
        trade_id: f.tradeId,
        order_id: f.orderId,
        ticker: f.ticker,
        side: f.side,
        action: f.action,
        count_fp: f.countFp,
        yes_price_dollars: f.yesPriceDollars,
        no_price_dollars: f.noPriceDollars,
        is_taker: f.isTaker,
        fee_cost_dollars: f.feeCostDollars,
        created_time: f.createdTime,
        raw: f.raw,
      }));
      return await writeRows(db, "fills", rows, (f) => f.trade_id, async (q, batch) => {
        const r = await q`insert into ${t("fills")} (trade_id, order_id, ticker, side, action,
            count_fp, yes_price_dollars, no_price_dollars, is_taker, fee_cost_dollars,
            created_time, raw)
          select * from jsonb_to_recordset(${
          JSON.stringify(batch)
        }::text::jsonb) as x(trade_id text,
            order_id text, ticker text, side text, action text, count_fp numeric,
            yes_price_dollars numeric, no_price_dollars numeric, is_taker boolean,
            fee_cost_dollars numeric, created_time timestamptz, raw jsonb)
          where ${fenced(q)}
          on conflict (trade_id) do nothing`;
        return r.count;
      });
    },

    async insertSettlements(settlements, db = sql) {
      const rows = settlements.map((s) => ({
        ticker: s.ticker,
        settled_time: s.settledTime,
        market_result: s.marketResult,
        yes_count_fp: s.yesCountFp,
        yes_total_cost_dollars: s.yesTotalCostDollars,
        no_count_fp: s.noCountFp,
        no_total_cost_dollars: s.noTotalCostDollars,
        revenue_dollars: s.revenueDollars,
        fee_cost_dollars: s.feeCostDollars,
        raw: s.raw,
      }));
      const key = (s: (typeof rows)[number]) => `${s.ticker} at ${s.settled_time}`;
      return await writeRows(db, "settlements", rows, key, async (q, batch) => {
        const r = await q`insert into ${t("settlements")} (ticker, settled_time, market_result,
            yes_count_fp, yes_total_cost_dollars, no_count_fp, no_total_cost_dollars,
            revenue_dollars, fee_cost_dollars, raw)
          select * from jsonb_to_recordset(${JSON.stringify(batch)}::text::jsonb) as x(ticker text,
            settled_time timestamptz, market_result text, yes_count_fp numeric,
            yes_total_cost_dollars numeric, no_count_fp numeric, no_total_cost_dollars numeric,
            revenue_dollars numeric, fee_cost_dollars numeric, raw jsonb)
          where ${fenced(q)}
          on conflict (ticker, settled_time) do nothing`;
        return r.count;
      });
    },

    async getCursor(stream, db = sql) {
      const [row] = await db<{ cursor: string | null; last_time: Date | null }[]>`
        select cursor, last_time from ${t("sync_cursors")} where stream = ${stream}`;
      return row ? { cursor: row.cursor, lastTime: row.last_time } : null;
    },

    async setCursor(stream, cursor, db = sql) {
      await db`insert into ${t("sync_cursors")} (stream, cursor, last_time, updated_at)
        select ${stream}::text, ${cursor.cursor}::text, ${cursor.lastTime}::timestamptz, now()
        where ${fenced(db)}
        on conflict (stream) do update set cursor = excluded.cursor,
          last_time = excluded.last_time, updated_at = excluded.updated_at`;
    },

    async deleteCursor(stream, db = sql) {
      await db`delete from ${t("sync_cursors")} where stream = ${stream} and ${fenced(db)}`;
    },

    transaction<T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
      return sql.begin(async (tx) => {
        await fence(tx, grant());
        return await fn(tx as unknown as TransactionSql);
      }) as Promise<T>;
    },

    takeRefused() {
      const out = { count: refusedCount, rows: refused };
      refusedCount = 0;
      refused = [];
      return out;
    },
  };
}
