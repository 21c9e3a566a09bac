/**
 * Finding the embedded PostgreSQL that another process (the heart) runs, from its files alone:
 * no dependency on the server's package, so status and verify commands start fast.
 *
 * @module
 */

/**
 * The embedded server running in `dir`, as another process sees it: the port from line 4 of its
 * `postmaster.pid` and the password from `<dir>.password`; or why there is none to reach.
 */
export function runningEmbedded(dir: string): { url: string; port: number } | { why: string } {
  let pid: string;
  try {
    pid = Deno.readTextFileSync(`${dir}/postmaster.pid`);
  } catch {
    return { why: `the embedded database in ${dir} is not running` };
  }
  const port = Number(pid.split("\n")[3]);
  if (!Number.isInteger(port) || port <= 0) {
    return { why: `the embedded database in ${dir} is not running (no port in postmaster.pid)` };
  }
  let password: string;
  try {
    password = Deno.readTextFileSync(`${dir}.password`).trim();
  } catch {
    return { why: `cannot read the embedded database's password file ${dir}.password` };
  }
  if (!password) return { why: `the embedded database's password file ${dir}.password is empty` };
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
  };
}
