/**
 * The price store's role in cluster mode (DESIGN.md section 6): whether it writes, under which
 * grant, and whether a takeover is due. The runtime's lease (`ctx.lease.current`, read through a
 * getter) says what this node holds; the store adds what only it knows: after its write was fenced,
 * or after a `release`, it writes nothing until the next grant, whatever the getter still says.
 *
 * - `grant` undefined: not leased (a single actor, a test): write as before, nothing fenced.
 * - `grant` null: a warm standby: keep rows as a retention, write nothing.
 * - a grant: the holder; after a new grant the first pass reads the newest committed second and
 *   writes only what is after it (`takeoverDue`).
 *
 * @example
 * ```ts
 * import { StoreLease } from "./store_lease.ts";
 * let current: { name: string; node: string; epoch: number } | null = null;
 * const lease = new StoreLease(() => current);
 * console.log(lease.status()); // { role: "standby", epoch: null }
 * current = { name: "price_watchdog:btc", node: "a", epoch: 7 };
 * lease.changed(current);
 * console.log(lease.takeoverDue === current); // true
 * lease.tookOver(current);
 * console.log(lease.status()); // { role: "holder", epoch: 7 }
 * ```
 *
 * @module
 */
import type { LeaseGrant } from "../../lib/fence.ts";

/** What /status shows of the store's role. */
export interface RoleStatus {
  role: "holder" | "standby";
  epoch: number | null;
}

/** The write role of one price store. */
export class StoreLease {
  #get: (() => LeaseGrant | null | undefined) | undefined;
  /** Writing stopped (fenced, or released) until the next grant. */
  #paused = false;
  /** The grant whose takeover (read the newest committed second) is still to run. */
  #takeover: LeaseGrant | null = null;

  /** `get` reads the runtime's lease (`() => ctx.lease.current`); none: not leased. */
  constructor(get?: () => LeaseGrant | null | undefined) {
    this.#get = get;
  }

  /** Whether the store is a leased writer at all. */
  get leased(): boolean {
    return this.#get?.() !== undefined;
  }

  /** The grant to write under (undefined: not leased), or null: write nothing (a standby). */
  get grant(): LeaseGrant | null | undefined {
    const g = this.#get?.();
    if (g === undefined) return undefined;
    return this.#paused ? null : g;
  }

  /** The grant whose takeover is due, if any (and still current). */
  get takeoverDue(): LeaseGrant | null {
    const g = this.grant;
    return g && this.#takeover && same(g, this.#takeover) ? g : null;
  }

  /** The lease changed: a grant resumes writing after a takeover; null stops it. */
  changed(grant: LeaseGrant | null): void {
    this.#takeover = grant;
    if (grant) this.#paused = false;
  }

  /** The takeover of `grant` ran (a newer grant's stays due). */
  tookOver(grant: LeaseGrant): void {
    if (this.#takeover && same(this.#takeover, grant)) this.#takeover = null;
  }

  /** A write was fenced, or the lease released: write nothing until the next grant. */
  pause(): void {
    this.#paused = true;
  }

  /** The role and epoch, for the status details. */
  status(): RoleStatus {
    const g = this.#get?.();
    return { role: this.grant === null ? "standby" : "holder", epoch: g?.epoch ?? null };
  }
}

function same(a: LeaseGrant, b: LeaseGrant): boolean {
  return a.name === b.name && a.node === b.node && a.epoch === b.epoch;
}
