/**
 * `host:port`, the spelling of a worker's `net` permission: one place makes it, for the web URLs
 * an actor talks to ({@linkcode hostPort}, the scheme's default port spelled out) and for each host
 * of a PostgreSQL URL (`lib/db.ts` `databaseHostPorts`, which parses the URL strictly and spells
 * its hosts with {@linkcode formatHostPort}).
 *
 * @example
 * ```ts
 * import { hostPort } from "./host_port.ts";
 * hostPort("wss://ws-feed.exchange.coinbase.com"); // "ws-feed.exchange.coinbase.com:443"
 * ```
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

/** The port a URL of each scheme means when it names none. */
const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  "https:": 443,
  "wss:": 443,
  "http:": 80,
  "ws:": 80,
};

/** `host:port`; `host` as a URL spells it (an IPv6 address in brackets). */
export function formatHostPort(host: string, port: number | string): string {
  return `${host}:${port}`;
}

/**
 * `host:port` of an http, https, ws or wss URL, with the scheme's default port spelled out.
 * Throws a {@linkcode ConfigError} for another scheme without a port (its port is unknown), and
 * for a multi-host PostgreSQL URL use `databaseHostPorts` (`lib/db.ts`).
 */
export function hostPort(url: string): string {
  const u = new URL(url);
  const port = u.port || DEFAULT_PORTS[u.protocol];
  if (port === undefined) {
    throw new ConfigError(`Cannot tell the port of a ${u.protocol} URL that names none`);
  }
  return formatHostPort(u.hostname, port);
}
