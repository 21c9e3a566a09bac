/**
 * Child specifications are data, validated once at start-up (OTP `check_childspecs`). Defaults
 * live in the schema. Duplicate ids and unknown dependencies are start-up errors.
 *
 * @example
 * ```ts
 * import { validateChildSpecs } from "./child_spec.ts";
 * const [spec] = validateChildSpecs([{ id: "system_monitor", module: "file:///x/worker.ts" }]);
 * console.log(spec?.restart); // "permanent"
 * ```
 *
 * @module
 */
import { z } from "zod";
import { SupervisorError } from "../lib/errors.ts";

const permissionList = z.union([z.boolean(), z.array(z.string()), z.literal("inherit")]);

/** Deno permissions of one worker (as `new Worker(..., { deno: { permissions } })` takes them). */
export const WorkerPermissions = z.object({
  net: permissionList.default(false),
  read: permissionList.default(false),
  write: permissionList.default(false),
  env: permissionList.default(false),
  sys: permissionList.default(false),
  run: permissionList.default(false),
  ffi: permissionList.default(false),
  import: permissionList.default(false),
}).strict();
export type WorkerPermissions = z.infer<typeof WorkerPermissions>;

export const Backoff = z.object({
  minMs: z.number().int().nonnegative().default(200),
  maxMs: z.number().int().positive().default(30_000),
  factor: z.number().min(1).default(2),
  jitter: z.number().min(0).max(1).default(0.2),
  /** A run this long resets the backoff step. */
  resetAfterMs: z.number().int().positive().default(60_000),
}).strict();
export type Backoff = z.infer<typeof Backoff>;

export const Intensity = z.object({
  maxRestarts: z.number().int().nonnegative().default(5),
  periodMs: z.number().int().positive().default(60_000),
  /** After `failed`, try again after this long. */
  coolDownMs: z.number().int().positive().default(300_000),
}).strict();
export type Intensity = z.infer<typeof Intensity>;

export const ChildSpec = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_:.-]*$/, "lower-case id: letters, digits, _ : . -"),
  /** Module URL of the worker entry (absolute `file:` URL or a URL relative to the repo root). */
  module: z.string().min(1),
  args: z.record(z.string(), z.unknown()).default({}),
  restart: z.enum(["permanent", "transient", "temporary"]).default("permanent"),
  shutdownMs: z.number().int().positive().default(5_000),
  heartbeatMs: z.number().int().positive().default(1_000),
  hangAfterMs: z.number().int().positive().default(10_000),
  /** Start must end in `ready` within this long. */
  startTimeoutMs: z.number().int().positive().default(30_000),
  /** Max age of the newest data before the child counts as stale and is restarted; null = off. */
  freshness: z.number().int().positive().nullable().default(null),
  /** Grace after `ready` before freshness applies (first data may take a while). */
  freshnessGraceMs: z.number().int().nonnegative().default(30_000),
  backoff: Backoff.default(Backoff.parse({})),
  intensity: Intensity.default(Intensity.parse({})),
  dependsOn: z.array(z.string()).default([]),
  critical: z.boolean().default(false),
  permissions: WorkerPermissions.default(WorkerPermissions.parse({})),
  /**
   * The database the child gets in `init`: `true` the supervisor's own connection, `false` none,
   * `{ user }` the login of that user's role (`lib/db_users.ts`), which may use only the user's
   * schema; such a child never sees the supervisor's URL. The supervisor adds network access to
   * the database host(s) either way.
   */
  database: z.union([
    z.boolean(),
    z.object({ user: z.string().regex(/^user_[0-9]{4}$/, "names like user_0001") }).strict(),
  ]).default(true),
  /** Start with the supervisor (false for jobs, which a schedule or a request starts). */
  autostart: z.boolean().default(true),
  /**
   * Cluster mode (`supervisor/leases.ts`): a singleton runs as the holder of the lease named by
   * its id on one node at a time. `cold`: spawned only on the holder; `warm`: runs on every node,
   * writing only on the holder (a warm standby elsewhere). null: runs on every node (the monitor,
   * jobs, whose runs are claimed per occurrence instead).
   */
  singleton: z.enum(["warm", "cold"]).nullable().default(null),
}).strict();
export type ChildSpec = z.infer<typeof ChildSpec>;
export type ChildSpecInput = z.input<typeof ChildSpec>;

/** The user whose own database login `spec` connects with, if any. */
export function databaseUser(spec: Pick<ChildSpec, "database">): string | undefined {
  return typeof spec.database === "object" ? spec.database.user : undefined;
}

/**
 * Validates a child list: each spec by schema, ids unique, dependencies known and listed earlier
 * (so list order is a valid start order). Throws {@linkcode SupervisorError} with a clear message.
 */
export function validateChildSpecs(input: readonly unknown[]): ChildSpec[] {
  const specs: ChildSpec[] = [];
  const seen = new Set<string>();
  input.forEach((raw, index) => {
    const parsed = ChildSpec.safeParse(raw);
    const label = (raw as { id?: unknown })?.id ?? `#${index}`;
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join(".") || "spec"}: ${i.message}`)
        .join("; ");
      throw new SupervisorError(`Cannot start child "${String(label)}": invalid spec (${why})`);
    }
    const spec = parsed.data;
    if (seen.has(spec.id)) {
      throw new SupervisorError(`Cannot start child "${spec.id}": duplicate child id`);
    }
    for (const dep of spec.dependsOn) {
      if (dep === spec.id) {
        throw new SupervisorError(`Cannot start child "${spec.id}": it depends on itself`);
      }
      if (!seen.has(dep)) {
        const known = input.some((s) => (s as { id?: unknown })?.id === dep);
        throw new SupervisorError(
          known
            ? `Cannot start child "${spec.id}": dependency "${dep}" must be listed before it`
            : `Cannot start child "${spec.id}": unknown dependency "${dep}"`,
        );
      }
    }
    seen.add(spec.id);
    specs.push(spec);
  });
  return specs;
}
