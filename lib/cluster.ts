/**
 * Cluster mode's timings and the one definition of a live node (DESIGN.md section 6), shared by
 * the lease manager (`supervisor/leases.ts`), the node registry (`supervisor/nodes.ts`) and the
 * job scheduler. Every expiry is computed by the database (`now()`), never by a node's clock;
 * the node only measures, on its monotonic clock, how long ago its last renewal succeeded.
 *
 * The rule, after Kubernetes' leader election: `leaseMs > renewDeadlineMs > renewEveryMs`. A
 * holder renews every `renewEveryMs`; when no renewal has succeeded for `renewDeadlineMs` it stops
 * writing (its actors are told the lease is lost) before the lease can expire and pass to another
 * node. Takeover after a holder dies takes at most `leaseMs + acquireEveryMs` plus the new
 * holder's first write; the database's fence (`lib/fence.ts`) keeps a stale holder from
 * committing whatever the timings.
 *
 * @module
 */
import type { Sql, TransactionSql } from "./db.ts";

/** Lease and node timings, in milliseconds. */
export interface ClusterTiming {
  /** A grant lasts this long after its last renewal (database time). */
  leaseMs: number;
  /** A holder renews this often. */
  renewEveryMs: number;
  /** A holder whose renewals have failed for this long stops writing (< leaseMs). */
  renewDeadlineMs: number;
  /** A node without a lease tries to acquire free or expired ones this often. */
  acquireEveryMs: number;
  /** A node whose heartbeat is older than this is not alive (>= leaseMs). */
  nodeTtlMs: number;
}

/** The defaults: takeover within about 3.5 s of a holder's death. */
export const DEFAULT_TIMING: ClusterTiming = {
  leaseMs: 3_000,
  renewEveryMs: 500,
  renewDeadlineMs: 2_000,
  acquireEveryMs: 500,
  nodeTtlMs: 5_000,
};

/** Checks the ordering rule; returns a problem or undefined. */
export function timingProblem(t: ClusterTiming): string | undefined {
  if (!(t.leaseMs > t.renewDeadlineMs)) return "leaseMs must exceed renewDeadlineMs";
  if (!(t.renewDeadlineMs > t.renewEveryMs)) return "renewDeadlineMs must exceed renewEveryMs";
  if (!(t.nodeTtlMs >= t.leaseMs)) return "nodeTtlMs must be at least leaseMs";
  if (!(t.acquireEveryMs > 0 && t.renewEveryMs > 0)) return "periods must be positive";
  return undefined;
}

/**
 * A WHERE condition over `system.cluster_nodes` (aliased `alias`) that is true for a live node:
 * not cleanly stopped and seen within `nodeTtlMs` of the database's now().
 */
export function nodeAlive(q: Sql | TransactionSql, alias: string, nodeTtlMs: number) {
  return q`(${q(alias)}.stopped_at is null and
    ${q(alias)}.last_seen_at > now() - ${nodeTtlMs} * interval '1 millisecond')`;
}
