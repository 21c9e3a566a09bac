/**
 * The ownership lock of a data directory: the process that runs the server on it is recorded in
 * the layout's owner file (pid and kernel start time); while that process is alive, a second
 * start on the same directory is refused rather than stopping a server someone else is using. A
 * lock whose process is gone (it was SIGKILLed) is taken over.
 *
 * @example
 * ```ts ignore
 * import { claim } from "./lock.ts";
 * const release = claim(embeddedLayout("/srv/pg"));
 * try { … } finally { release(); }
 * ```
 *
 * @module
 */
import { DatabaseError } from "../errors.ts";
import type { EmbeddedLayout } from "./layout.ts";
import { alive, procInfo } from "./process_identity.ts";

/** The process that owns the server on a data directory. */
interface Owner {
  pid: number;
  startTime: string;
}

function readOwner(file: string): Owner | undefined {
  try {
    const o = JSON.parse(Deno.readTextFileSync(file));
    return typeof o?.pid === "number" ? { pid: o.pid, startTime: String(o.startTime) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records this process as the owner of the directory; refuses when another live process owns
 * it. The result releases the lock (only if it is still ours).
 */
export function claim(files: EmbeddedLayout): () => void {
  const file = files.owner;
  const me: Owner = { pid: Deno.pid, startTime: procInfo(Deno.pid)?.startTime ?? "" };
  for (let attempt = 0;; attempt++) {
    try {
      Deno.writeTextFileSync(file, JSON.stringify(me), { createNew: true, mode: 0o600 });
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) || attempt > 0) throw e;
      const o = readOwner(file);
      const info = o ? procInfo(o.pid) : undefined;
      // Same pid and start time = the same process (pid reuse is ruled out by the start time).
      if (o && alive(info) && info.startTime === o.startTime) {
        const who = o.pid === Deno.pid ? "this process" : `process ${o.pid}`;
        throw new DatabaseError(
          `Cannot start the embedded PostgreSQL in ${files.dir}: it is in use by ${who}`,
        );
      }
      Deno.removeSync(file);
    }
  }
  return () => {
    const o = readOwner(file);
    if (o?.pid === Deno.pid) {
      try {
        Deno.removeSync(file);
      } catch { /* already gone */ }
    }
  };
}
