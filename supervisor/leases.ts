/**
 * The lease manager of one node (cluster mode, DESIGN.md section 6): which singleton children
 * this node runs. Every `renewEveryMs` one round trip (`system.lease_cycle`, migration 0090)
 * heartbeats the node, renews the grants it holds and acquires every wanted lease that is free,
 * expired or left by a node that is not alive; the database decides with its own `now()`, so no
 * node's clock matters. A NOTIFY on {@linkcode LEASE_CHANNEL} (a handover, a release) runs a cycle
 * at once.
 *
 * The node stops writing before anyone else can take its leases (after Kubernetes' leader
 * election): when no cycle has succeeded for `renewDeadlineMs` (< `leaseMs`) since it was sent,
 * every grant is dropped and the supervisor tells the actors. The database's fence
 * (`lib/fence.ts`) refuses whatever a paused holder still tries, so this bound is for liveness;
 * correctness does not depend on it.
 *
 * {@linkcode reconcile} is the pure part: what a cycle's rows mean for the grants held.
 *
 * @module
 */
import type { Clock } from "../lib/clock.ts";
import type { Sql, TransactionSql } from "../lib/db.ts";
import { type ClusterTiming, nodeAlive } from "../lib/cluster.ts";
import { getLogger } from "../lib/log.ts";
import type { LeaseGrant } from "../schema/messages.ts";

/** The NOTIFY channel of lease moves; payload `{"name","holder","epoch"}` (JSON). */
export const LEASE_CHANNEL = "recio_leases";

/** A lease row as a cycle returns it. */
export interface LeaseRow {
  name: string;
  holder: string | null;
  epoch: number;
  expiresAt: Date;
}

/** What changed for one lease. */
export interface LeaseChange {
  name: string;
  /** The new grant, or null: no longer held. */
  grant: LeaseGrant | null;
  /** `acquired` (a new epoch for this node), `lost` (taken, expired or the deadline passed). */
  kind: "acquired" | "lost";
  /** Who holds it now, when known. */
  holder: string | null;
  /** The epoch acquired, or the one lost. */
  epoch: number;
  reason: string;
}

/** The grants held after a cycle's `rows`, and the changes from `held`. Pure. */
export function reconcile(
  node: string,
  held: ReadonlyMap<string, LeaseGrant>,
  rows: readonly LeaseRow[],
): { held: Map<string, LeaseGrant>; changes: LeaseChange[] } {
  const next = new Map<string, LeaseGrant>();
  const changes: LeaseChange[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    seen.add(r.name);
    const had = held.get(r.name);
    if (r.holder === node) {
      const grant = { name: r.name, node, epoch: r.epoch };
      next.set(r.name, grant);
      if (!had || had.epoch !== r.epoch) {
        changes.push({
          name: r.name,
          grant,
          kind: "acquired",
          holder: node,
          epoch: r.epoch,
          reason: had ? `re-acquired (epoch ${had.epoch} was lost)` : "acquired",
        });
      }
    } else if (had) {
      changes.push({
        name: r.name,
        grant: null,
        kind: "lost",
        holder: r.holder,
        epoch: had.epoch,
        reason: r.holder ? `taken by ${r.holder} (epoch ${r.epoch})` : "expired",
      });
    }
  }
  for (const [name, had] of held) {
    if (!seen.has(name)) {
      changes.push({
        name,
        grant: null,
        kind: "lost",
        holder: null,
        epoch: had.epoch,
        reason: "lease row gone",
      });
    }
  }
  return { held: next, changes };
}

/** Options of {@linkcode LeaseManager}. */
export interface LeaseManagerOptions {
  sql: Sql;
  node: string;
  /** This start of the node (`supervisor/nodes.ts`). */
  instance: string;
  /** The leases this node can hold (its singleton children's ids). */
  wanted: readonly string[];
  timing: ClusterTiming;
  clock: Clock;
  /** A grant was acquired or lost. */
  onChange(change: LeaseChange): void;
  /** The node's row names another instance: this process must stop (exit 2). */
  onNodeLost(reason: string): void;
}

/** Acquires, renews, hands over and releases this node's leases. */
export class LeaseManager {
  #o: LeaseManagerOptions;
  #wanted: Set<string>;
  #held = new Map<string, LeaseGrant>();
  #rows = new Map<string, LeaseRow>();
  /** Monotonic time the last successful cycle was sent. */
  #lastOk: number;
  #inFlight = false;
  #again = false;
  #cancel: (() => void) | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #stopped = false;
  #log = getLogger("supervisor", "leases");
  /** Cycles run and failed (for /metrics). */
  readonly stats = { cycles: 0, failures: 0, notifies: 0 };

  constructor(o: LeaseManagerOptions) {
    this.#o = o;
    this.#wanted = new Set(o.wanted);
    this.#lastOk = o.clock.monotonic();
  }

  /** Stops wanting `name`: no cycle acquires it again (a stopping node hands it over). */
  retire(name: string): void {
    this.#wanted.delete(name);
  }

  /** The grants held now. */
  held(): LeaseGrant[] {
    return [...this.#held.values()];
  }

  /** The grant this node holds for `name`, if any. */
  grant(name: string): LeaseGrant | undefined {
    return this.#held.get(name);
  }

  /** Whether `name` is a lease of this node's cluster set. */
  wants(name: string): boolean {
    return this.#wanted.has(name);
  }

  /** The leases as the last cycle saw them (name order). */
  leases(): LeaseRow[] {
    return [...this.#rows.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Who holds `name` as last seen (null: nobody, or not known yet). */
  holder(name: string): string | null {
    return this.#rows.get(name)?.holder ?? null;
  }

  /** Runs the first cycle (so a node alone takes its leases at once), then the timer. */
  async start(): Promise<void> {
    this.#unlisten = await this.#listen();
    await this.cycle();
    this.#schedule();
  }

  /** Stops the timer and the listener (grants are handed over or released by the caller). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    await this.#unlisten?.().catch(() => {});
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#cancel = this.#o.clock.setTimer(() => {
      this.#schedule();
      this.#checkDeadline();
      void this.cycle();
    }, this.#o.timing.renewEveryMs);
  }

  async #listen(): Promise<(() => Promise<void>) | undefined> {
    try {
      const { unlisten } = await this.#o.sql.listen(LEASE_CHANNEL, (payload) => {
        this.stats.notifies++;
        // Only moves that concern this node's leases matter.
        let name: unknown;
        try {
          name = (JSON.parse(payload) as { name?: unknown }).name;
        } catch {
          return;
        }
        if (typeof name === "string" && this.wants(name)) void this.cycle();
      });
      return unlisten;
    } catch (error) {
      // Without notifications the timer still finds every move, one period later.
      this.#log.warn("Cannot LISTEN on {channel}: {error}", {
        channel: LEASE_CHANNEL,
        error: String(error),
      });
      return undefined;
    }
  }

  /** Drops every grant when no cycle has succeeded for the renew deadline. */
  #checkDeadline(): void {
    if (this.#held.size === 0) return;
    const age = this.#o.clock.monotonic() - this.#lastOk;
    if (age <= this.#o.timing.renewDeadlineMs) return;
    const reason = `no renewal for ${
      Math.round(age)
    } ms (deadline ${this.#o.timing.renewDeadlineMs} ms)`;
    this.#dropAll(reason);
  }

  #dropAll(reason: string): void {
    const held = [...this.#held.values()];
    this.#held.clear();
    for (const g of held) {
      this.#o.onChange({
        name: g.name,
        grant: null,
        kind: "lost",
        holder: null,
        epoch: g.epoch,
        reason,
      });
    }
  }

  /** One round trip; a cycle asked for while one runs runs right after it. */
  async cycle(): Promise<void> {
    if (this.#stopped) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    this.#inFlight = true;
    try {
      do {
        this.#again = false;
        await this.#cycleOnce();
      } while (this.#again && !this.#stopped);
    } finally {
      this.#inFlight = false;
    }
  }

  async #cycleOnce(): Promise<void> {
    const { sql, node, instance, timing } = this.#o;
    const sent = this.#o.clock.monotonic();
    const held = [...this.#held.values()];
    this.stats.cycles++;
    let rows;
    try {
      rows = await sql<
        {
          name: string | null;
          holder: string | null;
          epoch: string;
          expires_at: Date;
          node_ok: boolean;
        }[]
      >`select * from system.lease_cycle(${node}, ${instance}::uuid, ${[...this.#wanted]},
        ${held.map((g) => g.name)}, ${held.map((g) => g.epoch)}::int8[], ${timing.leaseMs},
        ${timing.nodeTtlMs})`;
    } catch (error) {
      this.stats.failures++;
      this.#log.warn("Lease cycle of node {node} failed: {error}", {
        node,
        error: error instanceof Error ? error.message : String(error),
      });
      this.#checkDeadline();
      return;
    }
    if (this.#stopped) return;
    if (!rows.every((r) => r.node_ok)) {
      this.#dropAll("node row taken over by another instance");
      this.#o.onNodeLost(`node "${node}" was registered by another instance`);
      return;
    }
    // A cycle that took longer than the deadline proves nothing for the time since it was sent.
    if (this.#o.clock.monotonic() - sent > timing.renewDeadlineMs) {
      this.#checkDeadline();
      return;
    }
    this.#lastOk = sent;
    const seen: LeaseRow[] = rows.flatMap((r) =>
      r.name === null ? [] : [{
        name: r.name,
        holder: r.holder,
        epoch: Number(r.epoch),
        expiresAt: r.expires_at,
      }]
    );
    for (const r of seen) this.#rows.set(r.name, r);
    const { held: next, changes } = reconcile(node, this.#held, seen);
    this.#held = next;
    for (const c of changes) this.#o.onChange(c);
  }

  /**
   * Gives `name` up: to a live node that can hold it (a new epoch for it, and a NOTIFY so it takes
   * over at once) or, when there is none, back to nobody (expired now, so any node may take it).
   * Returns the node it went to, or null. The caller has already stopped the actor's writes.
   */
  async handOver(name: string): Promise<string | null> {
    const grant = this.#held.get(name);
    if (!grant) return null;
    this.#held.delete(name);
    const { sql, node, timing } = this.#o;
    const to = await sql.begin(async (tx) => {
      const target = await standby(tx, node, name, timing.nodeTtlMs);
      const moved = await tx<{ holder: string | null; epoch: string }[]>`update system.leases
        set holder = ${target},
            epoch = case when ${target}::text is null then epoch
                         else nextval('system.lease_epoch') end,
            acquired_at = now(), renewed_at = now(),
            expires_at = case when ${target}::text is null then now()
                              else now() + ${timing.leaseMs} * interval '1 millisecond' end
        where name = ${name} and holder = ${node} and epoch = ${grant.epoch}
        returning holder, epoch`;
      if (moved.length === 0) return null;
      await tx`select pg_notify(${LEASE_CHANNEL}, ${
        JSON.stringify({ name, holder: moved[0]!.holder, epoch: Number(moved[0]!.epoch) })
      })`;
      return moved[0]!.holder;
    });
    const row = this.#rows.get(name);
    if (row) this.#rows.set(name, { ...row, holder: to });
    return to;
  }

  /** A live node other than this one that can take `name`, or null. */
  standbyFor(name: string): Promise<string | null> {
    return standby(this.#o.sql, this.#o.node, name, this.#o.timing.nodeTtlMs);
  }
}

/** The live node (not `node`) seen most recently among those that can take `name`. */
async function standby(
  q: Sql | TransactionSql,
  node: string,
  name: string,
  nodeTtlMs: number,
): Promise<string | null> {
  const [r] = await q<{ node: string }[]>`select c.node from system.cluster_nodes c
    where c.node <> ${node} and ${nodeAlive(q, "c", nodeTtlMs)} and ${name} = any(c.candidates)
    order by c.last_seen_at desc limit 1`;
  return r?.node ?? null;
}
