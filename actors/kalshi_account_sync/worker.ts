/**
 * Worker entry of `kalshi_account_sync`: wiring only. Reads the private key from the file named
 * in its args (the only file it may read), builds the signed client, the socket opener and the
 * stores of the user's schema, account and trades (their writes fenced by the actor's lease). Without a key id and key
 * path it runs unauthenticated, and the actor reports that it has no credentials. Without a
 * `wsUrl` the socket is the one of the REST base's environment (never production's for a demo or
 * local base).
 *
 * @module
 */
import { runActor } from "../_runtime.ts";
import { createSql } from "../../lib/db.ts";
import { createAccountStore } from "../../lib/kalshi/account_store.ts";
import { KalshiClient } from "../../lib/kalshi/client.ts";
import { kalshiWsUrlFor } from "../../lib/kalshi/endpoints.ts";
import { signerFromFile } from "../../lib/kalshi/signer.ts";
import { openKalshiSocket } from "../../lib/kalshi/ws.ts";
import { createTradeStore } from "../../lib/trades/store.ts";
import { createAccountSync, resolveArgs } from "./mod.ts";

runActor(async (ctx) => {
  const settings = resolveArgs(ctx.args);
  if (!ctx.databaseUrl) throw new Error("Cannot start kalshi_account_sync: no database URL");
  const signer = settings.keyId && settings.keyPath
    ? await signerFromFile(settings.keyId, settings.keyPath)
    : undefined;
  const sql = createSql(ctx.databaseUrl, {
    max: 2,
    applicationName: `recio-kalshi_account-${settings.user}`,
  });
  const client = new KalshiClient({
    baseUrl: settings.baseUrl,
    signer,
    clock: ctx.clock,
    timeoutMs: settings.timeoutMs,
    readPerSecond: settings.readPerSecond,
    writePerSecond: settings.writePerSecond,
    onRetry: (i) => ctx.count(`retries.${i.status ?? "network"}`),
  });
  let wsUrl = settings.wsUrl;
  if (wsUrl === undefined) {
    try {
      wsUrl = kalshiWsUrlFor(settings.baseUrl);
    } catch (e) {
      ctx.log.warn("No Kalshi WebSocket, polling only: {why}", { why: (e as Error).message });
    }
  }
  const actor = createAccountSync(ctx, {
    settings,
    client,
    store: createAccountStore(sql, settings.user, { lease: ctx.lease }),
    trades: createTradeStore(sql, settings.user, { lease: ctx.lease }),
    openSocket: signer && wsUrl
      ? (signal) => openKalshiSocket(wsUrl, { signer, clock: ctx.clock, signal })
      : undefined,
  });
  return {
    ...actor,
    async stop() {
      await actor.stop();
      await sql.end({ timeout: 5 });
    },
  };
});
