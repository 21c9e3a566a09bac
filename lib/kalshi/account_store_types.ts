/**
 * The types of the account store (`account_store.ts`): its interface, its options, a stored
 * cursor and a refused row. Apart so that the store's module holds only its SQL.
 *
 * @module
 */
import type { Sql, TransactionSql } from "../db.ts";
import type { LeaseGrant } from "../fence.ts";
import type {
  Balance,
  KalshiFill,
  KalshiOrder,
  KalshiPosition,
  KalshiSettlement,
} from "./schemas.ts";

/** A stored incremental or backfill cursor. */
export interface SyncCursor {
  cursor: string | null;
  lastTime: Date | null;
}

/** Where a write runs: the pool, or a caller's transaction. */
export type Db = Sql | TransactionSql;

/** A row PostgreSQL refused for its data and that was left out of its write. */
export interface RefusedRow {
  table: string;
  /** Its natural key (e.g. the order id). */
  key: string;
  /** SQLSTATE and message. */
  reason: string;
}

/** Refused rows kept for {@linkcode AccountStore.takeRefused} (the count covers the rest). */
export const REFUSED_KEPT = 100;

/** The account store of one user schema. */
export interface AccountStore {
  readonly user: string;
  insertBalance(balance: Balance, observedAt: Date): Promise<void>;
  /**
   * Replaces all positions with `positions` in one transaction; returns how many were written (a
   * refused one keeps its stored row).
   */
  replacePositions(positions: readonly KalshiPosition[], syncedAt: Date): Promise<number>;
  /** Upserts orders; returns rows written. */
  upsertOrders(orders: readonly KalshiOrder[], db?: Db): Promise<number>;
  /** Inserts new fills; returns how many were new. */
  insertFills(fills: readonly KalshiFill[], db?: Db): Promise<number>;
  /** Inserts new settlements; returns how many were new. */
  insertSettlements(settlements: readonly KalshiSettlement[], db?: Db): Promise<number>;
  getCursor(stream: string, db?: Db): Promise<SyncCursor | null>;
  setCursor(stream: string, cursor: SyncCursor, db?: Db): Promise<void>;
  deleteCursor(stream: string, db?: Db): Promise<void>;
  /** Runs `fn` in one transaction (which proves the lease's grant first, when leased). */
  transaction<T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  /**
   * Rows PostgreSQL refused since the last call, left out of their writes: how many, and the
   * first {@linkcode REFUSED_KEPT} of them.
   */
  takeRefused(): { count: number; rows: RefusedRow[] };
}

/** Options of `createAccountStore`. */
export interface AccountStoreOptions {
  /** The writer's lease (`ctx.lease` of a leased actor): every write proves its current grant. */
  lease?: { readonly current: LeaseGrant | null | undefined };
}
