/**
 * Singleton children under a lease (cluster mode): the pure rules the supervisor applies, kept out
 * of `mod.ts`. A `cold` singleton runs only where its lease is held; a `warm` one runs on every
 * node and is told its grant (null on a standby, which writes nothing). Without a lease manager
 * (`leases` undefined) every child runs as before.
 *
 * @module
 */
import type { LeaseGrant } from "../schema/messages.ts";
import type { Child, ChildLease } from "./_child.ts";
import type { LeasePort } from "./types.ts";

/** Whether the child is a singleton under this node's lease manager. */
export function isLeased(c: Child, leases: LeasePort | undefined): leases is LeasePort {
  return leases !== undefined && c.spec.singleton !== null;
}

/** Whether the child may be spawned here now: a cold singleton only while its lease is held. */
export function mayRunHere(c: Child, leases: LeasePort | undefined): boolean {
  if (!isLeased(c, leases) || c.spec.singleton === "warm") return true;
  return leases.grant(c.spec.id) !== undefined;
}

/** The grant for the child's `init`: absent when not leased, null on a warm standby. */
export function initLease(
  c: Child,
  leases: LeasePort | undefined,
): LeaseGrant | null | undefined {
  if (!isLeased(c, leases)) return undefined;
  return leases.grant(c.spec.id) ?? null;
}

/** The lease as the child's status shows it (null when not leased). */
export function leaseView(c: Child, leases: LeasePort | undefined): ChildLease | null {
  if (!isLeased(c, leases)) return null;
  const g = leases.grant(c.spec.id);
  if (g) return { held: true, holder: g.node, epoch: g.epoch };
  return { held: false, holder: leases.holder(c.spec.id), epoch: null };
}

/** Why a cold singleton is not running here. */
export function standbyReason(c: Child, leases: LeasePort): string {
  const holder = leases.holder(c.spec.id);
  return holder ? `standby: lease held by ${holder}` : "standby: waiting for the lease";
}
