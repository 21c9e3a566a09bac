/**
 * The WebSocket of `kalshi_account_sync` (see `mod.ts`): subscribes to `market_positions` and
 * `fill`, whose frames wake a prompt sync; reconnects with backoff (a refused key jumps to the
 * longest wait) and stays away while the REST loop sees the key refused. Going down and coming
 * back is logged once each.
 *
 * @module
 */
import type { ActorContext } from "../_runtime.ts";
import { backoffDelay } from "../../lib/backoff.ts";
import type { RateLimitedLog } from "../../lib/log.ts";
import { KalshiAuthError } from "../../lib/kalshi/errors.ts";
import { WsEnvelope } from "../../lib/kalshi/schemas.ts";
import type { AccountSyncSettings } from "./settings.ts";
import type { Waker } from "./wake.ts";

/** What the socket needs. */
export interface SocketDeps {
  settings: AccountSyncSettings;
  warn: RateLimitedLog;
  waker: Waker;
  /** Whether Kalshi refuses the key (the REST loop owns recovery; the socket waits). */
  authRefused: () => boolean;
}

/** The account's socket: whether it is up, closing it, and the loop that keeps it open. */
export interface AccountSocket {
  isUp(): boolean;
  /** Closes the open socket (the loop reconnects unless stopped or the key is refused). */
  close(): void;
  /** Keeps a socket open until the actor stops. */
  follow(open: (signal: AbortSignal) => Promise<WebSocket>): Promise<void>;
}

/** Creates the socket of one account. */
export function createAccountSocket(ctx: ActorContext, deps: SocketDeps): AccountSocket {
  const { settings, warn, waker, authRefused } = deps;
  const wake = () => waker.wake();
  const pause = (delayMs: number, ignoreWake?: boolean) => waker.pause(delayMs, ignoreWake);
  let wsUp = false;
  let socket: WebSocket | undefined;

  function closeSocket(): void {
    wsUp = false;
    try {
      socket?.close();
    } catch { /* already closed */ }
    socket = undefined;
  }

  function onFrame(data: unknown): void {
    let json: unknown;
    try {
      json = JSON.parse(String(data));
    } catch {
      ctx.count("rejected.ws_malformed_json");
      return;
    }
    const env = WsEnvelope.safeParse(json);
    if (!env.success) {
      ctx.count("rejected.ws_schema");
      return;
    }
    switch (env.data.type) {
      case "subscribed":
        if (!wsUp) {
          ctx.log.info("Kalshi WebSocket up: fills and positions stream in");
        }
        wsUp = true;
        break;
      case "fill":
      case "market_position":
        ctx.count(`ws.${env.data.type}`);
        wake();
        break;
      case "error":
        ctx.count("ws.error");
        warn.warn("ws-error", "Kalshi WebSocket error: {msg}", {
          msg: JSON.stringify(env.data.msg),
        });
        break;
    }
  }

  async function follow(
    open: (signal: AbortSignal) => Promise<WebSocket>,
  ): Promise<void> {
    /** Reconnects in a row without a session; a refused key jumps to the longest wait. */
    let failures = 0;
    const reconnect = {
      baseMs: settings.wsReconnectMinMs,
      maxMs: settings.wsReconnectMaxMs,
    };
    while (!ctx.signal.aborted) {
      if (authRefused()) {
        // The REST loop owns recovery; check back without touching Kalshi.
        await pause(Math.min(1_000, settings.wsReconnectMaxMs), true);
        continue;
      }
      try {
        const ws = await open(ctx.signal);
        socket = ws;
        ctx.count("ws.connects");
        await new Promise<void>((resolve) => {
          ws.onmessage = (e) => onFrame(e.data);
          ws.onclose = () => resolve();
          ws.onerror = () => {};
          ws.send(JSON.stringify({
            id: 1,
            cmd: "subscribe",
            params: { channels: ["market_positions", "fill"] },
          }));
        });
        failures = 0;
      } catch (error) {
        if (ctx.signal.aborted) return;
        if (error instanceof KalshiAuthError) {
          ctx.count("ws.auth_refused");
          failures = Number.MAX_SAFE_INTEGER;
        } else ctx.count("ws.errors");
      }
      const wasUp = wsUp;
      wsUp = false;
      socket = undefined;
      if (ctx.signal.aborted) return;
      ctx.count("ws.disconnects");
      // Polling takes over at once (a sync now, then every pollMs).
      if (wasUp) {
        ctx.log.warn(
          "Kalshi WebSocket down: polling every {pollMs} ms until it is back",
          {
            pollMs: settings.pollMs,
          },
        );
        wake();
      }
      failures = Math.min(failures + 1, Number.MAX_SAFE_INTEGER);
      await pause(backoffDelay(failures, reconnect), true);
    }
  }

  return { isUp: () => wsUp, close: closeSocket, follow };
}
