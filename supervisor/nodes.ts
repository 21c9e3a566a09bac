/**
 * The node registry (cluster mode): every instance on one database registers its node name in
 * `system.cluster_nodes` at start, heartbeats it with every lease cycle (`leases.ts`) and marks it
 * stopped on a clean stop.
 *
 * A name is one live node. The row's `instance` is a random id per start of the node's heart, the
 * same across the supervisor processes the heart restarts, so a restarted supervisor takes its
 * row back at once. A row of another instance that is still fresh may be a node that just died:
 * registration watches it for one node TTL (database time), and refuses to start (exit 2) only
 * when it keeps being renewed, i.e. when a second live node has the same name. A row written from
 * this host by a process that is gone (its pid has no `/proc` entry) is taken back at once.
 *
 * @module
 */
import type { Clock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import { nodeAlive } from "../lib/cluster.ts";
import { ConfigError } from "../lib/errors.ts";
import { sleep } from "../lib/sleep.ts";

/** A node as `/cluster` shows it. */
export interface NodeRow {
  node: string;
  lastSeenAt: string;
  alive: boolean;
  startedAt: string;
  stoppedAt: string | null;
}

/** Options of {@linkcode registerNode}. */
export interface RegisterOptions {
  node: string;
  instance: string;
  pid: number;
  /** The leases this node can hold (a handover picks a live node that can). */
  candidates: readonly string[];
  nodeTtlMs: number;
  clock: Clock;
  /** How often a fresh row of another instance is re-read while it is watched. */
  pollMs?: number;
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/;

/**
 * Registers the node; throws a {@linkcode ConfigError} (exit 2) when the name is not valid or a
 * second live node of that name keeps its row fresh.
 */
export async function registerNode(sql: Sql, o: RegisterOptions): Promise<void> {
  if (!NODE_NAME.test(o.node)) {
    throw new ConfigError(
      `Cannot start node "${o.node}": RECIO_NODE must be 1-63 letters, digits, . _ : - ` +
        `(starting with a letter or digit)`,
    );
  }
  const host = Deno.hostname();
  const first = await readOther(sql, o);
  if (first !== undefined && !(first.host === host && processGone(first.pid))) {
    // Someone else's fresh row: a live twin renews it; a dead predecessor does not.
    const until = o.clock.monotonic() + o.nodeTtlMs;
    while (o.clock.monotonic() < until) {
      await sleep(o.pollMs ?? 250);
      const now = await readOther(sql, o);
      if (now === undefined) break;
      if (now.seen !== first.seen) {
        throw new ConfigError(
          `Cannot start node "${o.node}": another live node of that name (pid ${now.pid ?? "?"}) ` +
            `is running on this database; give each instance its own RECIO_NODE`,
        );
      }
    }
  }
  await sql`insert into system.cluster_nodes as c
      (node, instance, pid, host, started_at, last_seen_at, stopped_at, candidates)
    values (${o.node}, ${o.instance}::uuid, ${o.pid}, ${host}, now(), now(), null,
      ${o.candidates as string[]})
    on conflict (node) do update set instance = excluded.instance, pid = excluded.pid,
      host = excluded.host,
      started_at = now(), last_seen_at = now(), stopped_at = null, candidates = excluded.candidates`;
}

/** The fresh row of another instance of this node's name, if any. */
async function readOther(
  sql: Sql,
  o: RegisterOptions,
): Promise<{ seen: string; pid: number | null; host: string | null } | undefined> {
  const [r] = await sql<{ seen: string; pid: number | null; host: string | null }[]>`
    select c.last_seen_at::text as seen, c.pid, c.host from system.cluster_nodes c
    where c.node = ${o.node} and c.instance <> ${o.instance}::uuid
      and ${nodeAlive(sql, "c", o.nodeTtlMs)}`;
  return r;
}

/** Marks the node cleanly stopped (its leases may be taken at once); only this instance's row. */
export async function markStopped(sql: Sql, node: string, instance: string): Promise<void> {
  await sql`update system.cluster_nodes set stopped_at = now()
    where node = ${node} and instance = ${instance}::uuid`;
}

/** Every registered node, alive ones first, then by name. */
export async function listNodes(sql: Sql, nodeTtlMs: number): Promise<NodeRow[]> {
  const rows = await sql<
    {
      node: string;
      last_seen_at: Date;
      started_at: Date;
      stopped_at: Date | null;
      alive: boolean;
    }[]
  >`select c.node, c.last_seen_at, c.started_at, c.stopped_at,
      ${nodeAlive(sql, "c", nodeTtlMs)} as alive
    from system.cluster_nodes c order by 5 desc, c.node`;
  return rows.map((r) => ({
    node: r.node,
    lastSeenAt: r.last_seen_at.toISOString(),
    alive: r.alive,
    startedAt: r.started_at.toISOString(),
    stoppedAt: r.stopped_at?.toISOString() ?? null,
  }));
}

/**
 * Whether the process `pid` of this host is gone (Linux: no `/proc/<pid>`; our own pid is a
 * predecessor's only if that one is gone, as in a restarted container). Unknown counts as alive.
 */
function processGone(pid: number | null): boolean {
  if (pid === null) return false;
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch (e) {
    return e instanceof Deno.errors.NotFound;
  }
}
