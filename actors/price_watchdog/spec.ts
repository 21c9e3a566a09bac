/**
 * Child specs of the price watchdogs, one per symbol, for the supervisor's child list. Imports
 * nothing but child-spec types, so the supervisor side can use it without importing the actor.
 *
 * @module
 */
import type { ChildSpecInput } from "../../supervisor/child_spec.ts";

/** Settings the specs are built from (URLs default to Coinbase's). */
export interface PriceWatchdogSpecConfig {
  symbols: string[];
  /** The database URL: its `host:port` joins the worker's `net` permission. */
  databaseUrl?: string;
  feed?: "advanced" | "exchange";
  wsUrl?: string;
  restUrl?: string;
  flushMs?: number;
  maxBatch?: number;
  bufferRows?: number;
  silenceMs?: number;
  maxReconnectAttempts?: number;
  /** Max age (ms) of the newest row before the supervisor restarts the watchdog. */
  freshnessMs?: number;
}

const WS = {
  advanced: "wss://advanced-trade-ws.coinbase.com",
  exchange: "wss://ws-feed.exchange.coinbase.com",
} as const;
const REST = "https://api.exchange.coinbase.com";

/** `host[:port]` of a URL, with the scheme's default port spelled out. */
function hostPort(url: string): string {
  const u = new URL(url);
  const port = u.port ||
    ({ "wss:": "443", "https:": "443", "ws:": "80", "http:": "80" } as Record<string, string>)[
      u.protocol
    ] ||
    "5432";
  return `${u.hostname}:${port}`;
}

/** One `price_watchdog:<sym>` child spec per symbol. */
export function priceWatchdogSpecs(config: PriceWatchdogSpecConfig): ChildSpecInput[] {
  const feed = config.feed ?? "advanced";
  const wsUrl = config.wsUrl ?? WS[feed];
  const restUrl = config.restUrl ?? REST;
  const net = [hostPort(wsUrl), hostPort(restUrl)];
  if (config.databaseUrl) net.push(hostPort(config.databaseUrl));
  return config.symbols.map((raw) => {
    const symbol = raw.trim().toUpperCase();
    const args: Record<string, unknown> = {
      symbol,
      productId: `${symbol}-USD`,
      feed,
      wsUrl,
      restUrl,
    };
    for (
      const k of ["flushMs", "maxBatch", "bufferRows", "silenceMs", "maxReconnectAttempts"] as const
    ) {
      if (config[k] !== undefined) args[k] = config[k];
    }
    return {
      id: `price_watchdog:${symbol.toLowerCase()}`,
      module: new URL("./worker.ts", import.meta.url).href,
      args,
      restart: "permanent",
      heartbeatMs: 1_000,
      hangAfterMs: 10_000,
      freshness: config.freshnessMs ?? 30_000,
      freshnessGraceMs: 30_000,
      shutdownMs: 5_000,
      critical: false,
      permissions: { net: [...new Set(net)], read: false, write: false, run: false },
    };
  });
}
