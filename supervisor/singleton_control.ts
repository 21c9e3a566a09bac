/**
 * What the supervisor does with its singleton children as their leases move (cluster mode): the
 * effects of a lease acquired or lost, the 409 answer for a child held elsewhere, and the
 * handover. The rules themselves are pure (`singletons.ts`); this class applies them through the
 * supervisor's own operations ({@linkcode SingletonHost}), so `mod.ts` stays a thin shell.
 *
 * - A warm singleton (a price feed) runs on every node and is told its grant; a cold one runs only
 *   on the holder: it is started when the lease is acquired and stopped when it is lost.
 * - A handover happens at a second boundary: a warm holder flushes what is complete and stops
 *   writing (`release`), a cold one stops; then the lease moves with a new epoch and a NOTIFY
 *   wakes the new holder (`leases.ts`).
 *
 * @module
 */
import { SupervisorError } from "../lib/errors.ts";
import { type Child, readyForDependents } from "./_child.ts";
import type { SupervisorEvent } from "./event_log.ts";
import type { LeaseChange } from "./leases.ts";
import { isAlive } from "./lifecycle.ts";
import { isLeased, standbyReason } from "./singletons.ts";
import type { LeasePort } from "./types.ts";

/** The supervisor operations the control uses. */
export interface SingletonHost {
  readonly leases: LeasePort;
  child(id: string): Child | undefined;
  stopChild(c: Child, reason: string): Promise<void>;
  event(c: Child, event: string, extra: Partial<SupervisorEvent>): void;
  publish(c: Child): void;
  startEligible(): void;
  command(id: string, name: string, payload: unknown, timeoutMs: number): Promise<unknown>;
  warn(message: string, properties: Record<string, unknown>): void;
}

/** Applies lease changes and handovers to the singleton children of one supervisor. */
export class SingletonControl {
  #h: SingletonHost;

  constructor(host: SingletonHost) {
    this.#h = host;
  }

  /** The lease manager acquired or lost a lease of this node. */
  changed(change: LeaseChange): void {
    const h = this.#h;
    const c = h.child(change.name);
    if (!c || !isLeased(c, h.leases)) return;
    const event = change.kind === "acquired" ? "lease_acquired" : "lease_lost";
    h.event(c, event, { reason: change.reason, epoch: change.epoch });
    if (c.spec.singleton === "warm") {
      if (c.worker && isAlive(c.state)) {
        c.worker.postMessage({ type: "lease", lease: change.grant });
      }
    } else if (change.grant === null && isAlive(c.state)) {
      void h.stopChild(c, `lease lost: ${change.reason}`).then(() => this.standby(c));
    } else this.standby(c);
    h.publish(c);
    h.startEligible();
  }

  /** The holder of the child's lease when it is another node (for a 409), else null. */
  heldElsewhere(c: Child): string | null {
    const leases = this.#h.leases;
    if (!isLeased(c, leases) || leases.grant(c.spec.id)) return null;
    return leases.holder(c.spec.id) ?? "no node";
  }

  /** Hands the child's lease to a live standby (`POST /actors/:id/handover`). */
  async handover(c: Child): Promise<string> {
    const { leases } = this.#h;
    const id = c.spec.id;
    if (!isLeased(c, leases)) {
      throw new SupervisorError(`Cannot hand over "${id}": not a singleton`);
    }
    if (!leases.grant(id)) {
      throw new SupervisorError(`Cannot hand over "${id}": held by ${leases.holder(id) ?? "none"}`);
    }
    if (await leases.standbyFor(id) === null) {
      throw new SupervisorError(`Cannot hand over "${id}": no live standby node`);
    }
    return await this.#handOver(c, "handover requested") ?? "nobody";
  }

  /** A stopping node: no cycle takes the leases back; each held one is handed over. */
  async handOverAll(children: readonly Child[], reason: string): Promise<void> {
    const { leases } = this.#h;
    for (const c of children) if (isLeased(c, leases)) leases.retire(c.spec.id);
    for (const c of children) {
      if (leases.grant(c.spec.id)) await this.#handOver(c, reason).catch(() => {});
    }
  }

  async #handOver(c: Child, reason: string): Promise<string | null> {
    const h = this.#h;
    const id = c.spec.id;
    const epoch = h.leases.grant(id)?.epoch ?? null;
    if (c.spec.singleton === "warm" && c.worker && readyForDependents(c.state)) {
      // A feed still starting has written nothing yet; the lease message below stops it writing.
      await h.command(id, "release", undefined, 5_000).catch((e) =>
        h.warn("Release of {id} before its handover failed: {error}", { id, error: String(e) })
      );
    } else if (isAlive(c.state)) {
      await h.stopChild(c, `handover: ${reason}`);
    }
    const to = await h.leases.handOver(id);
    h.event(c, "lease_released", { reason: to ? `handed over to ${to}` : reason, epoch });
    if (c.spec.singleton === "warm" && c.worker && isAlive(c.state)) {
      c.worker.postMessage({ type: "lease", lease: null });
    }
    this.standby(c);
    h.publish(c);
    return to;
  }

  /** A cold singleton not running here shows why. */
  standby(c: Child): void {
    const leases = this.#h.leases;
    if (c.spec.singleton !== "cold" || leases.grant(c.spec.id)) return;
    if (c.state === "stopped") c.reason = standbyReason(c, leases);
  }
}
