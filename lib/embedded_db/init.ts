/**
 * Bringing a data directory to a cluster ready to start: an existing one (`PG_VERSION` present)
 * keeps its password file and has a leftover server of a crash cleared; a new one gets a random
 * password, written first (so a crash after `initdb` keeps it), and `initdb` with scram-sha-256
 * authentication. `initdb` runs only when `PG_VERSION` is missing (it fails on a non-empty
 * directory); a directory holding something that is not a cluster is never deleted.
 *
 * @example
 * ```ts ignore
 * import { prepareCluster } from "./init.ts";
 * const password = await prepareCluster(embeddedLayout("/srv/pg"), { ids, log });
 * ```
 *
 * @module
 */
import type { EmbeddedLog } from "./log.ts";
import { DatabaseError } from "../errors.ts";
import { PG_BIN } from "./binaries.ts";
import { type EmbeddedLayout, readPasswordFile, writePasswordFile } from "./layout.ts";
import { clearLeftover } from "./leftover.ts";
import type { Ids } from "./os_user.ts";
import { exists, lastLines, pgTool } from "./pg_ctl.ts";

/** A new random password: 24 bytes, hex. */
export function newPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Whether a directory with these entries may be (re)initialised: empty, holding only a server
 * log, or a cluster whose `initdb` was cut short. Anything else is not ours to delete.
 */
export function mayInitialise(entries: readonly string[]): boolean {
  const partial = entries.some((n) => ["global", "base", "postgresql.conf"].includes(n));
  return entries.length === 0 || partial || (entries.length === 1 && entries[0] === "server.log");
}

/** Creates a new cluster in the directory (owned by the postgres user when we are root). */
async function initialise(files: EmbeddedLayout, pw: string, ids: Ids): Promise<void> {
  const { dir } = files;
  let entries: string[] = [];
  try {
    entries = [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch { /* does not exist yet */ }
  if (!mayInitialise(entries)) {
    throw new DatabaseError(
      `Cannot initialise the embedded PostgreSQL in ${dir}: the directory is not empty and ` +
        `holds no PostgreSQL cluster (no PG_VERSION)`,
    );
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (ids) await Deno.chown(dir, ids.uid, ids.gid);
  const pwFile = await Deno.makeTempFile({ prefix: "recio-pg-" });
  try {
    await Deno.writeTextFile(pwFile, pw + "\n");
    if (ids) await Deno.chown(pwFile, ids.uid, ids.gid);
    const r = await pgTool(PG_BIN.initdb, [
      `--pgdata=${dir}`,
      "--auth=scram-sha-256",
      "--username=postgres",
      `--pwfile=${pwFile}`,
      "--encoding=UTF8",
      "--locale=C",
    ], ids);
    if (r.code !== 0) {
      throw new DatabaseError(
        `Cannot initialise the embedded PostgreSQL in ${dir}: initdb failed: ${
          lastLines(r.out, 3)
        }`,
      );
    }
  } finally {
    await Deno.remove(pwFile).catch(() => {});
  }
}

/** Options of {@linkcode prepareCluster}. */
export interface PrepareOptions {
  ids: Ids;
  log?: EmbeddedLog | undefined;
  /** Called with the password as soon as it is known, so errors can be redacted. */
  onPassword?: (password: string) => void;
}

/** Makes the directory a cluster that can start now; returns the `postgres` role's password. */
export async function prepareCluster(files: EmbeddedLayout, o: PrepareOptions): Promise<string> {
  const { dir } = files;
  if (exists(files.version)) {
    const pw = readPasswordFile(files.password);
    if (!pw) {
      throw new DatabaseError(
        `Cannot start the embedded PostgreSQL in ${dir}: its password file ${files.password} is ` +
          `missing or empty (restore it, or move the data directory away to start a new cluster)`,
      );
    }
    o.onPassword?.(pw);
    await clearLeftover(dir, { log: o.log });
    return pw;
  }
  const pw = newPassword();
  o.onPassword?.(pw);
  await writePasswordFile(files.password, pw); // first, so a crash after initdb keeps the password
  o.log?.info("Initialising a new PostgreSQL cluster in {dir}", { dir });
  await initialise(files, pw, o.ids);
  return pw;
}
