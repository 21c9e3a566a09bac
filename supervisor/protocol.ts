/**
 * The supervisor's reading of one actor message (`schema/messages.ts`): it updates the child
 * record's progress fields (readiness time, heartbeat, counters, data time, last error) and says
 * what the supervisor should do about the child's lifecycle. The record is plain data; no worker,
 * event or timer is touched here.
 *
 * @module
 */
import { ActorMessage, type LeaseGrant } from "../schema/messages.ts";
import type { Child } from "./_child.ts";
import { isStale } from "./detectors.ts";
import type { ExitKind } from "./restart_policy.ts";

/** What a message asks of the supervisor. */
export type Reaction =
  /** Nothing (a command's answer, a late `ready`, health that changes nothing). */
  | { kind: "ignore" }
  /** The status changed: publish it. */
  | { kind: "publish" }
  /** Move the child to `to`, record `event`; `startDependents`: it is now ready for them. */
  | {
    kind: "move";
    to: "running" | "degraded";
    reason: string | null;
    event: { event: "ready" | "degraded" | "recovered"; reason?: string | null; uptimeMs?: number };
    startDependents: boolean;
  }
  /** The actor reports it stopped: the end of a stop, or of its work. */
  | { kind: "stopped" }
  /** The worker must end: `exit` for `reason`. */
  | { kind: "exit"; exit: ExitKind; reason: string }
  /** The database refused the actor's write under `lease`: it stepped down. */
  | { kind: "fenced"; lease: LeaseGrant; error: string };

/** Applies message `data` of the child's current incarnation, received at `now`, to `c`. */
export function receive(c: Child, data: unknown, now: number): Reaction {
  const parsed = ActorMessage.safeParse(data);
  if (!parsed.success) {
    return { kind: "exit", exit: "crash", reason: `protocol violation: ${parsed.error.message}` };
  }
  const m = parsed.data;
  switch (m.type) {
    case "ready":
      if (c.state !== "starting") return { kind: "ignore" };
      c.readyAt = now;
      c.lastHeartbeatAt = now;
      return {
        kind: "move",
        to: "running",
        reason: null,
        event: { event: "ready", uptimeMs: now - (c.startedAt ?? now) },
        startDependents: true,
      };
    case "heartbeat":
      c.lastHeartbeatAt = now;
      c.handled = m.progress.handled;
      c.heapUsed = m.progress.heapUsed;
      c.counters = m.progress.counters;
      c.details = m.progress.details ?? {};
      if (m.progress.newestDataAt !== null) {
        const was = c.stale;
        c.newestDataAt = m.progress.newestDataAt;
        if (was) c.stale = isStale(c, now);
      }
      return { kind: "publish" };
    case "health":
      return health(c, m.state, m.reason);
    case "stopped":
      return { kind: "stopped" };
    case "fatal":
      c.lastError = m.error.stack ?? `${m.error.name}: ${m.error.message}`;
      return { kind: "exit", exit: "crash", reason: `${m.error.name}: ${m.error.message}` };
    case "command_result":
      return { kind: "ignore" }; // matched by its command id in commands.ts
    case "fenced":
      return { kind: "fenced", lease: m.lease, error: m.error };
  }
}

function health(c: Child, state: "running" | "degraded", reason: string | undefined): Reaction {
  if (state === "degraded" && c.state === "running") {
    const event = { event: "degraded" as const, reason: reason ?? null };
    return {
      kind: "move",
      to: "degraded",
      reason: reason ?? "degraded",
      event,
      startDependents: false,
    };
  }
  if (state === "degraded" && c.state === "degraded") {
    // Still degraded, for a reason that may have moved on ("N rows buffered"): the status shows
    // the current one; the event marked only the transition.
    const current = reason ?? "degraded";
    if (c.reason === current) return { kind: "ignore" };
    c.reason = current;
    return { kind: "publish" };
  }
  if (state === "running" && c.state === "degraded") {
    return {
      kind: "move",
      to: "running",
      reason: null,
      event: { event: "recovered" },
      startDependents: false,
    };
  }
  return { kind: "ignore" };
}
