/**
 * The OS user the embedded server runs as, and whether it can reach what it needs. As root,
 * PostgreSQL refuses to run: a `postgres` OS user is created when missing, and every parent
 * directory of the data directory and of the package's binaries must let it through (checked
 * first, with a clear message naming the folders; otherwise `initdb` fails with a bare
 * `spawn … EPERM`).
 *
 * @example
 * ```ts
 * import { mayEnter } from "./os_user.ts";
 * const pg = { uid: 999, gid: 999, groups: [999] };
 * console.log(mayEnter({ mode: 0o700, uid: 0, gid: 0 }, pg)); // false
 * ```
 *
 * @module
 */
import { dirname, resolve } from "./paths.ts";
import { DatabaseError } from "../errors.ts";
import { PG_BIN } from "./binaries.ts";

/** The OS user the server runs as (when we are root), with its groups. */
export interface PgUser {
  uid: number;
  gid: number;
  /** Supplementary groups. */
  groups: number[];
}

/** The user the server runs as: undefined when we are not root (it runs as us). */
export type Ids = PgUser | undefined;

/** The `postgres` OS user, created when missing, when we are root; undefined otherwise. */
export async function serverUser(): Promise<Ids> {
  if (Deno.uid() !== 0) return undefined;
  const known = await new Deno.Command("id", { args: ["-u", "postgres"], stderr: "null" }).output();
  if (!known.success) {
    const steps = [["groupadd", ["postgres"]], ["useradd", ["-g", "postgres", "postgres"]]];
    for (const [cmd, args] of steps as [string, string[]][]) {
      const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
      if (!r.success) {
        throw new DatabaseError(
          `Cannot create the postgres OS user to run the embedded server as root: ${cmd} failed`,
        );
      }
    }
  }
  const id = async (flag: string) => {
    const r = await new Deno.Command("id", { args: [flag, "postgres"] }).output();
    return new TextDecoder().decode(r.stdout).trim().split(/\s+/).filter(Boolean).map(Number);
  };
  const [uid] = await id("-u");
  const [gid] = await id("-g");
  return { uid: uid!, gid: gid!, groups: await id("-G") };
}

/** Mode and owner of a file, as `Deno.statSync` reports them. */
export interface Permissions {
  mode: number | null;
  uid: number | null;
  gid: number | null;
}

/**
 * Whether `user` may enter (search) a directory, or execute a file, with these permissions: the
 * owner's bits apply to its owner, the group's to its groups, the others' to everyone else (as the
 * kernel decides; root may always).
 */
export function mayEnter(p: Permissions, user: PgUser): boolean {
  const mode = p.mode ?? 0o755;
  if (user.uid === 0) return true;
  if (p.uid === user.uid) return (mode & 0o100) !== 0;
  if (p.gid === user.gid || (p.gid !== null && user.groups.includes(p.gid))) {
    return (mode & 0o010) !== 0;
  }
  return (mode & 0o001) !== 0;
}

/** A folder `user` cannot enter, with its mode. */
export interface Blocked {
  dir: string;
  mode: number;
}

/**
 * Every folder of `path` and its parents up to `/` that `user` cannot enter (outermost first);
 * folders that do not exist are skipped (they are created later).
 */
export function blockedFolders(
  path: string,
  user: PgUser,
  stat: (path: string) => Permissions = Deno.statSync,
): Blocked[] {
  const out: Blocked[] = [];
  for (let d = resolve(path);; d = dirname(d)) {
    let p: Permissions | undefined;
    try {
      p = stat(d);
    } catch { /* not there (yet) */ }
    if (p && !mayEnter(p, user)) out.unshift({ dir: d, mode: (p.mode ?? 0) & 0o777 });
    if (d === dirname(d)) return out;
  }
}

function describeBlocked(blocked: Blocked[], who = "the postgres OS user"): string {
  const dirs = blocked.map((b) => `${b.dir} (mode ${b.mode.toString(8)})`).join(", ");
  return `${who} cannot enter ${dirs}; make ${
    blocked.length === 1 ? "it" : "them"
  } traversable, e.g. chmod o+x ${blocked.map((b) => b.dir).join(" ")}`;
}

/**
 * Why `user` cannot run the server's binaries (undefined: it can): it must enter their `bin`
 * folder and every parent, and `lib` and `share` beside it, and execute the tools. `bin` is the
 * package's own by default.
 */
export function binariesProblem(
  user: PgUser,
  options: { bin?: string; stat?: (path: string) => Permissions } = {},
): string | undefined {
  const bin = options.bin ?? PG_BIN.dir;
  const stat = options.stat ?? Deno.statSync;
  const blocked = blockedFolders(bin, user, stat);
  for (const sibling of ["lib", "share"]) {
    const d = resolve(bin, "..", sibling);
    const b = blockedFolders(d, user, stat).filter((x) => x.dir === d);
    blocked.push(...b);
  }
  const tools = ["initdb", "pg_ctl", "postgres"].map((t) => resolve(bin, t)).filter((f) => {
    try {
      return !mayEnter(stat(f), user);
    } catch {
      return false; // a missing binary fails later with its own message
    }
  });
  if (blocked.length === 0 && tools.length === 0) return undefined;
  const why = blocked.length > 0
    ? describeBlocked(blocked, "it")
    : `it may not execute ${tools.join(", ")}; e.g. chmod o+rx ${tools.join(" ")}`;
  return `Cannot start the embedded PostgreSQL: as root it runs as the postgres OS user, which ` +
    `cannot reach its binaries in ${bin}: ${why}; or move the checkout under a folder other ` +
    `users can enter, or set DATABASE_URL to a PostgreSQL server`;
}

/** Why `user` cannot run the server on `dir` (its binaries, or a folder above `dir`). */
function reachProblem(dir: string, user: PgUser): string | undefined {
  const binaries = binariesProblem(user);
  if (binaries) return binaries;
  const blocked = blockedFolders(dirname(resolve(dir)), user);
  if (blocked.length === 0) return undefined;
  return `Cannot start the embedded PostgreSQL in ${dir}: ${describeBlocked(blocked)}`;
}

/**
 * Why the embedded server cannot start here, checked without starting it: as root, whether the
 * postgres OS user can reach the binaries and enter every folder above each of `dataDirs`.
 * Undefined when it can (or when we are not root, where no other user is involved).
 */
export async function embeddedDbProblem(dataDirs: string[] = []): Promise<string | undefined> {
  let ids: Ids;
  try {
    ids = await serverUser();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  if (!ids) return undefined;
  if (dataDirs.length === 0) return binariesProblem(ids);
  for (const dir of dataDirs) {
    const problem = reachProblem(dir, ids);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * As root the server runs as `postgres`: its binaries and every folder above the data directory
 * must let it in (else `initdb` fails with a bare `spawn … EPERM`).
 */
export function assertReachable(dir: string, ids: Ids): void {
  if (!ids) return;
  const problem = reachProblem(dir, ids);
  if (problem) throw new DatabaseError(problem);
}
