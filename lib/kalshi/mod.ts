/**
 * The Kalshi Trade API v2 client shared by every Kalshi actor: request signing (RSA-PSS over
 * WebCrypto, PKCS#1 or PKCS#8 keys), the REST client (rate limits, retries, pagination), zod
 * schemas that normalise current and legacy fields to dollars as decimal strings, hourly event
 * tickers in US Eastern time, the authenticated WebSocket, and the store of a user's account
 * tables.
 *
 * @example
 * ```ts ignore
 * import { createSigner, KalshiClient, hourlyEvents } from "./mod.ts";
 * const client = new KalshiClient({ baseUrl: "https://external-api.kalshi.com/trade-api/v2" });
 * const [current] = hourlyEvents("KXBTCD", Date.now());
 * ```
 *
 * @module
 */
export * from "./client.ts";
export * from "./endpoints.ts";
export * from "./errors.ts";
export * from "./money.ts";
export * from "./pem.ts";
export * from "./rate_limiter.ts";
export * from "./schemas.ts";
export * from "./signer.ts";
export * from "./tickers.ts";
export * from "./ws.ts";
export * from "./account_store.ts";
