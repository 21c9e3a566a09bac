/**
 * Finding the embedded PostgreSQL that another process (the heart) runs, from its files alone:
 * no dependency on the server's package, so status and verify commands start fast.
 *
 * @example
 * ```ts ignore
 * import { runningEmbedded } from "./running.ts";
 * const found = runningEmbedded("./data/pg");
 * if ("why" in found) console.error(found.why);
 * ```
 *
 * @module
 */
import { embeddedLayout, embeddedUrl, parsePostmasterPid, readPasswordFile } from "./layout.ts";

/**
 * The embedded server running in `dir`, as another process sees it: the port from its
 * `postmaster.pid` and the password from its password file; or why there is none to reach.
 */
export function runningEmbedded(dir: string): { url: string; port: number } | { why: string } {
  const files = embeddedLayout(dir);
  let pid: string;
  try {
    pid = Deno.readTextFileSync(files.pidFile);
  } catch {
    return { why: `the embedded database in ${dir} is not running` };
  }
  const { port } = parsePostmasterPid(pid);
  if (!Number.isInteger(port) || port <= 0) {
    return { why: `the embedded database in ${dir} is not running (no port in postmaster.pid)` };
  }
  const password = readPasswordFile(files.password);
  if (password === null) {
    return { why: `cannot read the embedded database's password file ${files.password}` };
  }
  if (!password) return { why: `the embedded database's password file ${files.password} is empty` };
  return { url: embeddedUrl(password, port), port };
}
