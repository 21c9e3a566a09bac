/**
 * Fencing (DESIGN.md section 6): every write transaction of a leased actor proves, in the
 * database, that its node still holds the actor's lease at the epoch it was granted, so a holder
 * that was paused, partitioned or slow can never commit after the lease moved. The proof is
 * `system.lease_fence(name, node, epoch)` (migration 0090): it takes a FOR SHARE lock on the lease
 * row for the rest of the transaction (a takeover waits for it, or is ordered before it and then
 * refuses it) and raises SQLSTATE `RF001` when the grant is stale or expired (database time).
 *
 * - {@linkcode fence}: run first inside a transaction (`sql.begin`).
 * - {@linkcode fenceCondition}: a fragment for a single-statement write's WHERE clause (an
 *   uncorrelated subquery, evaluated once per statement), so a live flush stays one round trip.
 * - {@linkcode fencedBegin}: `sql.begin` with the fence first.
 *
 * A grant of `undefined` means the writer is not leased (a single actor in a test, a command):
 * nothing is checked. A fenced write must never be retried under the same grant: the caller
 * reports it (`ctx.lease.fenced(error)`) and steps down.
 *
 * @example
 * ```ts ignore
 * await fencedBegin(sql, ctx.lease.current ?? undefined, async (tx) => {
 *   await tx`insert into live_data.kalshi_market_state ...`;
 * });
 * ```
 *
 * @module
 */
import type { Sql, TransactionSql } from "./db.ts";

/**
 * A lease held by this node (cluster mode, `supervisor/leases.ts`), which every write of its
 * actor proves; `epoch` grows on every acquisition of any lease. `schema/messages.ts` checks the
 * grant that crosses the worker wall against this shape.
 */
export interface LeaseGrant {
  name: string;
  node: string;
  epoch: number;
}

/** The SQLSTATE `system.lease_fence` raises for a stale grant. */
export const FENCED_SQLSTATE = "RF001";

/** Whether `error` is the database refusing a write under a stale lease. */
export function isFenced(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === FENCED_SQLSTATE ||
    error instanceof FencedError;
}

/** Thrown (locally) when a leased writer has no grant: it must not write at all. */
export class FencedError extends Error {
  override readonly name = "FencedError";
}

type Query = Sql | TransactionSql;

/** Proves `grant` inside the current transaction (nothing when `grant` is undefined). */
export async function fence(q: Query, grant: LeaseGrant | undefined): Promise<void> {
  if (grant === undefined) return;
  await q`select system.lease_fence(${grant.name}, ${grant.node}, ${grant.epoch})`;
}

/**
 * A WHERE condition that proves `grant` once per statement (`true` when undefined), e.g.
 * `insert into t select ... where ${fenceCondition(sql, grant)}`.
 */
export function fenceCondition(q: Query, grant: LeaseGrant | undefined) {
  if (grant === undefined) return q`true`;
  return q`(select system.lease_fence(${grant.name}, ${grant.node}, ${grant.epoch}))`;
}

/** `sql.begin(fn)` with the fence run first. */
export function fencedBegin<T>(
  sql: Sql,
  grant: LeaseGrant | undefined,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  return sql.begin(async (tx) => {
    await fence(tx, grant);
    return await fn(tx);
  }) as Promise<T>;
}

/**
 * The grant a leased writer writes under, or a {@linkcode FencedError} when it holds none (a
 * standby, or a holder that stepped down): `null` means "leased, but not held".
 */
export function requireGrant(grant: LeaseGrant | null | undefined): LeaseGrant | undefined {
  if (grant === null) throw new FencedError("Cannot write: this node does not hold the lease");
  return grant;
}
