/**
 * The `Host` check of the status API, against DNS rebinding: a page on another site that makes
 * its own name resolve to 127.0.0.1 can reach the port, but its requests still carry its own name
 * in `Host`, so only the configured names are answered (421 otherwise). The default names are the
 * bound address, `localhost`, `127.0.0.1` and `[::1]`; behind a reverse proxy, list the names it
 * forwards (`RECIO_HTTP_ALLOWED_HOSTS`), or `*` when the proxy checks them itself.
 *
 * @example
 * ```ts
 * import { allowedHosts, hostAllowed } from "./http_host.ts";
 * const allowed = allowedHosts("127.0.0.1", []);
 * console.log(hostAllowed("localhost:7070", allowed), hostAllowed("evil.example", allowed));
 * // true false
 * ```
 *
 * @module
 */

/** Names the API answers to; `"*"` in it allows any. */
export type AllowedHosts = ReadonlySet<string>;

/** The bound address's names, the loopback names and `extra` (lower case, without port). */
export function allowedHosts(bindHost: string, extra: readonly string[]): AllowedHosts {
  const names = new Set(["localhost", "127.0.0.1", "[::1]"]);
  const add = (h: string) => {
    const n = h.trim().toLowerCase();
    if (!n) return;
    names.add(n.includes(":") && !n.startsWith("[") && n !== "*" ? `[${n}]` : n);
  };
  // A wildcard bind address is no name a client uses: only the listed names then.
  if (!["0.0.0.0", "::", "[::]"].includes(bindHost)) add(bindHost);
  for (const h of extra) add(h);
  return names;
}

/** The host name of a `Host` header value without its port, lower case; undefined if malformed. */
export function hostName(header: string): string | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i.exec(header.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}

/** Whether a request with this `Host` header may be answered. */
export function hostAllowed(header: string, allowed: AllowedHosts): boolean {
  if (allowed.has("*")) return true;
  const name = hostName(header);
  return name !== undefined && allowed.has(name);
}
