/**
 * Cluster mode's wiring in the supervisor process: the node's registration (`nodes.ts`), its
 * lease manager (`leases.ts`) over the singleton children, the `/cluster` document, and the clean
 * stop (hand over, then mark the node stopped). Every instance runs it: one node alone is a
 * cluster of one and takes its leases in its first cycle, before any child starts.
 *
 * The node's instance id comes from its heart (`RECIO_NODE_INSTANCE`, the same across the
 * supervisor processes one heart restarts, so a restarted supervisor takes its row and leases
 * back at once); a supervisor run without a heart makes its own.
 *
 * @module
 */
import type { Clock } from "../lib/clock.ts";
import { type ClusterTiming, DEFAULT_TIMING, timingProblem } from "../lib/cluster.ts";
import type { Sql } from "../lib/db.ts";
import { ConfigError } from "../lib/errors.ts";
import type { ChildSpec } from "./child_spec.ts";
import { type LeaseChange, LeaseManager } from "./leases.ts";
import { listNodes, markStopped, type NodeRow, registerNode } from "./nodes.ts";

/** What `GET /cluster` returns. */
export interface ClusterDoc {
  node: string;
  nodes: NodeRow[];
  leases: { name: string; holder: string | null; epoch: number; expiresAt: string }[];
}

/** The running cluster membership of this node. */
export interface ClusterNode {
  readonly node: string;
  readonly instance: string;
  readonly leases: LeaseManager;
  readonly timing: ClusterTiming;
  /** Runs the first lease cycle (this node alone takes its leases now), then the timer. */
  start(): Promise<void>;
  /** The `/cluster` document (nodes read now; leases as of the last cycle). */
  doc(): Promise<ClusterDoc>;
  /** Stops the lease cycles and marks the node stopped (after the supervisor handed over). */
  stop(): Promise<void>;
}

/** Options of {@linkcode joinCluster}. */
export interface JoinOptions {
  sql: Sql;
  node: string;
  specs: readonly ChildSpec[];
  clock: Clock;
  timing?: Partial<ClusterTiming>;
  instance?: string;
  onChange(change: LeaseChange): void;
  onNodeLost(reason: string): void;
}

/** Registers the node (refusing a live twin of its name, exit 2) and builds its lease manager. */
export async function joinCluster(o: JoinOptions): Promise<ClusterNode> {
  const timing = { ...DEFAULT_TIMING, ...o.timing };
  const problem = timingProblem(timing);
  if (problem) throw new ConfigError(`Cannot join the cluster: ${problem}`);
  const instance = o.instance ?? Deno.env.get("RECIO_NODE_INSTANCE") ?? crypto.randomUUID();
  const wanted = o.specs.filter((s) => s.singleton !== null).map((s) => s.id);
  await registerNode(o.sql, {
    node: o.node,
    instance,
    pid: Deno.pid,
    candidates: wanted,
    nodeTtlMs: timing.nodeTtlMs,
    clock: o.clock,
  });
  const leases = new LeaseManager({
    sql: o.sql,
    node: o.node,
    instance,
    wanted,
    timing,
    clock: o.clock,
    onChange: (c) => o.onChange(c),
    onNodeLost: (r) => o.onNodeLost(r),
  });
  return {
    node: o.node,
    instance,
    leases,
    timing,
    start: () => leases.start(),
    async doc() {
      return {
        node: o.node,
        nodes: await listNodes(o.sql, timing.nodeTtlMs),
        leases: leases.leases().map((l) => ({
          name: l.name,
          holder: l.holder,
          epoch: l.epoch,
          expiresAt: l.expiresAt.toISOString(),
        })),
      };
    },
    async stop() {
      await leases.stop();
      await markStopped(o.sql, o.node, instance);
    },
  };
}
