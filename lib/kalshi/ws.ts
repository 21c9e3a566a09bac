/**
 * Kalshi's WebSocket (exchange-protocols.md §B7): an authenticated handshake (the three signed
 * headers over `GET` + the URL path, on the upgrade request), JSON commands, and an envelope per
 * message. {@linkcode openKalshiSocket} resolves once the socket is open and rejects on failure;
 * the caller owns reconnecting.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { KalshiAuthError, KalshiRequestError } from "./errors.ts";
import type { KalshiSigner } from "./signer.ts";

export interface OpenSocketOptions {
  signer: KalshiSigner;
  clock: Clock;
  /** Give up opening after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Opens an authenticated socket to `wsUrl`. */
export async function openKalshiSocket(
  wsUrl: string,
  options: OpenSocketOptions,
): Promise<WebSocket> {
  const url = new URL(wsUrl);
  const headers = await options.signer.headers("GET", url.pathname, options.clock.now());
  const socket = new WebSocket(url, { headers: { ...headers } });
  const timeoutMs = options.timeoutMs ?? 10_000;
  return await new Promise<WebSocket>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new KalshiRequestError(undefined, "Cannot open Kalshi WebSocket: timed out")),
      timeoutMs,
    );
    const onAbort = () => fail(options.signal!.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    function cleanup() {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      socket.removeEventListener("open", onOpen);
      socket.removeEventListener("error", onError);
    }
    function fail(error: unknown) {
      cleanup();
      try {
        socket.close();
      } catch { /* already closed */ }
      reject(error);
    }
    function onOpen() {
      cleanup();
      resolve(socket);
    }
    function onError(e: Event) {
      const message = (e as ErrorEvent).message ?? "";
      // Deno reports the refused upgrade's status in the message ("... 401 Unauthorized").
      if (/\b40[13]\b/.test(message)) {
        fail(new KalshiAuthError(401, "Cannot open Kalshi WebSocket: authentication refused"));
      } else {
        fail(new KalshiRequestError(undefined, "Cannot open Kalshi WebSocket: connection failed"));
      }
    }
    socket.addEventListener("open", onOpen);
    socket.addEventListener("error", onError);
  });
}
