/**
 * The messages between the supervisor and its actors: one zod discriminated union per direction.
 * Nothing crosses `postMessage` unparsed. Times travel as ISO strings or epoch milliseconds,
 * prices as decimal strings.
 *
 * @example
 * ```ts
 * import { ActorMessage } from "./messages.ts";
 * const msg = ActorMessage.parse({ type: "ready" });
 * console.log(msg.type); // "ready"
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { LeaseGrant as Grant } from "../lib/fence.ts";

/** Serialisable error. */
export const ErrorPayload = z.object({
  name: z.string(),
  message: z.string(),
  stack: z.string().optional(),
});

/**
 * A lease held by this node (cluster mode, `supervisor/leases.ts`): the actor's writes prove it
 * with `lib/fence.ts`. `epoch` grows on every acquisition of any lease.
 */
export const LeaseGrant: z.ZodType<Grant> = z.object({
  name: z.string().min(1),
  node: z.string().min(1),
  epoch: z.number().int().nonnegative(),
});
export type LeaseGrant = z.infer<typeof LeaseGrant>;

/** What the supervisor hands every actor when it starts. */
export const InitMessage = z.object({
  type: z.literal("init"),
  id: z.string(),
  incarnation: z.number().int().nonnegative(),
  node: z.string(),
  args: z.record(z.string(), z.unknown()),
  heartbeatMs: z.number().int().positive(),
  /** Connection URL of the database (a secret: never logged). */
  databaseUrl: z.string().optional(),
  /**
   * Absent: the child is not a singleton (the monitor, a job). A grant: this node holds the
   * child's lease. null: another node holds it and this one is a warm standby (only the price
   * watchdog runs as one; it writes nothing until it is granted the lease).
   */
  lease: LeaseGrant.nullable().optional(),
  log: z.object({
    format: z.enum(["auto", "json", "text"]),
    level: z.enum(["trace", "debug", "info", "warning", "error", "fatal"]),
  }),
});
export type InitMessage = z.infer<typeof InitMessage>;

/** Identifies one command and its answer (unique per supervisor). */
export const CommandId = z.number().int().positive();

/** Supervisor → actor. */
export const SupervisorMessage = z.discriminatedUnion("type", [
  InitMessage,
  z.object({ type: z.literal("stop"), reason: z.string() }),
  /** The child's lease was granted (or its epoch changed), or lost (null: stop writing now). */
  z.object({ type: z.literal("lease"), lease: LeaseGrant.nullable() }),
  /**
   * An actor-specific command (drills, manual resync); unknown names are answered with an error.
   * `id` is echoed in the `command_result`, which is matched by it (not by name).
   */
  z.object({
    type: z.literal("command"),
    id: CommandId,
    name: z.string(),
    payload: z.unknown().optional(),
  }),
]);
export type SupervisorMessage = z.infer<typeof SupervisorMessage>;

/** Progress an actor reports with every heartbeat. */
export const Progress = z.object({
  /** Messages/frames/cycles handled since start. */
  handled: z.number().int().nonnegative(),
  /** Newest data time the actor produced (epoch ms), for the freshness rule. */
  newestDataAt: z.number().nullable(),
  /** `Deno.memoryUsage().heapUsed` of the worker. */
  heapUsed: z.number().nonnegative(),
  /** Counters, e.g. `rejected.bad_price`, `rows.written`, `buffer.depth`. */
  counters: z.record(z.string(), z.number()),
  /** Small actor-specific details shown in /status (no secrets). */
  details: z.record(z.string(), z.unknown()).optional(),
});
export type Progress = z.infer<typeof Progress>;

/** Actor → supervisor. */
export const ActorMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ready") }),
  z.object({ type: z.literal("heartbeat"), at: z.number(), progress: Progress }),
  /** The actor works but something is wrong (auth failure, stale input); or recovered. */
  z.object({
    type: z.literal("health"),
    state: z.enum(["running", "degraded"]),
    reason: z.string().optional(),
  }),
  z.object({ type: z.literal("stopped") }),
  z.object({ type: z.literal("fatal"), error: ErrorPayload }),
  /**
   * The database refused a write of the actor: `lease` is no longer held (SQLSTATE RF001). The
   * actor has stepped down (it writes nothing more under that grant); the supervisor drops the
   * grant and records a `fenced` event.
   */
  z.object({ type: z.literal("fenced"), lease: LeaseGrant, error: z.string() }),
  z.object({
    type: z.literal("command_result"),
    /** The `id` of the command this answers. */
    id: CommandId,
    name: z.string(),
    ok: z.boolean(),
    result: z.unknown().optional(),
    error: z.string().optional(),
  }),
]);
export type ActorMessage = z.infer<typeof ActorMessage>;
