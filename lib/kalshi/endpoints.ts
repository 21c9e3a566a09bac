/**
 * Kalshi's hosts (exchange-protocols.md §B1) and the WebSocket URL that belongs to a REST base:
 * production REST → production WebSocket, demo REST → demo WebSocket, and any other host (a local
 * fake, a proxy) → the same host's `/trade-api/ws/v2`. Keys are per environment, so signing the
 * handshake for another environment's socket would only send the key id where it does not
 * belong.
 *
 * @example
 * ```ts
 * import { kalshiWsUrlFor } from "./endpoints.ts";
 * kalshiWsUrlFor("https://external-api.demo.kalshi.co/trade-api/v2");
 * // "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2"
 * ```
 *
 * @module
 */

/** Production REST base (exchange-protocols.md §B1). */
export const KALSHI_PRODUCTION_URL = "https://external-api.kalshi.com/trade-api/v2";
/** Production WebSocket URL. */
export const KALSHI_PRODUCTION_WS_URL = "wss://external-api-ws.kalshi.com/trade-api/ws/v2";
/** Demo REST base. */
export const KALSHI_DEMO_URL = "https://external-api.demo.kalshi.co/trade-api/v2";
/** Demo WebSocket URL. */
export const KALSHI_DEMO_WS_URL = "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2";

const REST_PATH = "/trade-api/v2";
const WS_PATH = "/trade-api/ws/v2";

/** Kalshi's REST hosts whose WebSocket is on another host. */
const WS_HOSTS: Readonly<Record<string, string>> = {
  "external-api.kalshi.com": "external-api-ws.kalshi.com",
  "external-api.demo.kalshi.co": "external-api-ws.demo.kalshi.co",
  // The shared hosts serve both on one name.
  "api.elections.kalshi.com": "api.elections.kalshi.com",
  "demo-api.kalshi.co": "demo-api.kalshi.co",
};

/**
 * The WebSocket URL of the environment `restUrl` belongs to. Throws a `RangeError` naming what to
 * set when the REST URL is not `http(s)` or its path does not end in `/trade-api/v2` (then no
 * WebSocket path can be derived).
 */
export function kalshiWsUrlFor(restUrl: string): string {
  let url: URL;
  try {
    url = new URL(restUrl);
  } catch {
    throw new RangeError("Cannot derive the Kalshi WebSocket URL: the REST URL is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new RangeError(
      `Cannot derive the Kalshi WebSocket URL from a ${url.protocol} REST URL: set KALSHI_WS_URL`,
    );
  }
  const path = url.pathname.replace(/\/+$/, "");
  if (!path.endsWith(REST_PATH)) {
    throw new RangeError(
      `Cannot derive the Kalshi WebSocket URL: the REST URL's path does not end in ${REST_PATH}` +
        ` (set KALSHI_WS_URL)`,
    );
  }
  const ws = new URL(url.href);
  ws.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const known = WS_HOSTS[url.hostname];
  if (known && url.port === "") ws.hostname = known;
  ws.pathname = path.slice(0, -REST_PATH.length) + WS_PATH;
  ws.search = "";
  ws.hash = "";
  ws.username = "";
  ws.password = "";
  return ws.href;
}
