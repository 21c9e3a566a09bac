/**
 * What a child's worker is created with: its Deno permissions, the database URL it gets in `init`
 * (its user's own login, the supervisor's, or none) and the start-up check of both. Pure, apart
 * from {@linkcode defaultWorkerFactory}.
 *
 * A child with `database: { user }` gets that user's own login (`userDatabaseUrls`, provisioned at
 * start by `lib/db_users.ts`) and network access to the database host(s), never the supervisor's
 * URL; a spec naming a user without a login, or asking for unrestricted env, read, run or ffi (the
 * process's environment and files hold the supervisor's credentials), is a start-up error.
 *
 * @module
 */
import { databaseHostPorts, POSTGRES_ENV } from "../lib/db.ts";
import { USER_POSTGRES_ENV } from "../lib/db_users.ts";
import { SupervisorError } from "../lib/errors.ts";
import type { InitMessage, LeaseGrant } from "../schema/messages.ts";
import { type ChildSpec, databaseUser, type WorkerPermissions } from "./child_spec.ts";

/** What the supervisor needs to create a worker (injectable for tests). */
export type WorkerFactory = (url: string, options: WorkerOptions) => Worker;

/** Creates a real Web Worker. */
export const defaultWorkerFactory: WorkerFactory = (url, options) => new Worker(url, options);

/** The database logins a supervisor hands out. */
export interface DatabaseLogins {
  databaseUrl?: string;
  /** Each user's own connection URL (secrets), for the children with `database: { user }`. */
  userDatabaseUrls?: ReadonlyMap<string, string>;
}

/** Throws when `spec` names a user without a login, or wants wide access beside its own login. */
export function checkDatabaseAccess(spec: ChildSpec, logins: DatabaseLogins): void {
  const user = databaseUser(spec);
  if (user === undefined) return;
  if (!logins.userDatabaseUrls?.has(user)) {
    throw new SupervisorError(
      `Cannot start child "${spec.id}": no database login for ${user} (the supervisor ` +
        `provisions one per user at start)`,
    );
  }
  const wide = (["env", "read", "run", "ffi"] as const).filter((k) =>
    spec.permissions[k] === true || spec.permissions[k] === "inherit"
  );
  if (wide.length > 0) {
    throw new SupervisorError(
      `Cannot start child "${spec.id}": a child with its user's own database login may not ` +
        `have unrestricted ${wide.join(", ")} permission (list what it needs)`,
    );
  }
}

/** The connection URL a child gets: its user's own, the supervisor's, or none. */
export function childDatabaseUrl(spec: ChildSpec, logins: DatabaseLogins): string | undefined {
  const user = databaseUser(spec);
  if (user !== undefined) return logins.userDatabaseUrls?.get(user);
  return spec.database ? logins.databaseUrl : undefined;
}

/** The spec's permissions plus, for a child with database access, exactly that access. */
export function childPermissions(spec: ChildSpec, url: string | undefined): WorkerPermissions {
  const p = { ...spec.permissions };
  if (!url) return p;
  const add = (have: WorkerPermissions["net"], extra: readonly string[]) =>
    have === true || have === "inherit" ? have : [...(have || []), ...extra];
  p.net = add(p.net, databaseHostPorts(url));
  // A user's URL names everything: none of the identity variables (PGPASSWORD may be ours).
  p.env = add(p.env, databaseUser(spec) === undefined ? POSTGRES_ENV : USER_POSTGRES_ENV);
  return p;
}

/** The options of a child's worker: a module worker named after the child, with its permissions. */
export function workerOptions(spec: ChildSpec, url: string | undefined): WorkerOptions {
  return {
    type: "module",
    name: spec.id,
    deno: { permissions: childPermissions(spec, url) as Deno.PermissionOptionsObject },
  } as WorkerOptions;
}

/** The `init` message of one incarnation of a child. */
export function initMessage(
  spec: ChildSpec,
  at: {
    incarnation: number;
    node: string;
    databaseUrl: string | undefined;
    /** A singleton's grant, or null on a standby; absent for other children. */
    lease?: LeaseGrant | null;
  },
  log: InitMessage["log"] = { format: "auto", level: "info" },
): InitMessage {
  return {
    ...(at.lease !== undefined ? { lease: at.lease } : {}),
    type: "init",
    id: spec.id,
    incarnation: at.incarnation,
    node: at.node,
    args: spec.args,
    heartbeatMs: spec.heartbeatMs,
    databaseUrl: at.databaseUrl,
    log,
  };
}
