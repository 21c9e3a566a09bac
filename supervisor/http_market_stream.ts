/**
 * `GET /market/stream`: the latest prices and the strike tables as Server-Sent Events, pushed
 * when they are committed instead of polled (issue 17). The process `LISTEN`s once, for every
 * client, on `recio_price_<sym>` and `recio_strike_table_<sym>` (`lib/notify_channels.ts`) of
 * each symbol with a price log; a notification makes it read that symbol's row or table once
 * and fans the result out.
 *
 * - `event: price`, `data:` what `GET /prices/:symbol/latest` answers (with `ageMs`);
 *   `event: strike_table`, `data:` what `GET /strike-table/:symbol` answers. On connect each
 *   client gets the current ones first, so it needs no poll to start.
 * - A comment (`: heartbeat`) every `heartbeatMs` (15 s) keeps proxies from closing an idle
 *   stream and lets clients notice a dead one.
 * - Each client's queue holds at most one pending event per kind and symbol (the newest): a slow
 *   client skips states it could not take in time, never sees an older one after a newer one,
 *   and costs bounded memory. At most `maxClients` streams at a time (503 beyond).
 * - The listen connection is opened with the first client and closed after the last one leaves.
 *   When it cannot be opened the request is a 503 (the page then polls); after a reconnect of it
 *   every symbol is read again, for what was committed meanwhile. A notification whose payload
 *   is not of the documented shape is ignored and counted (`rejected`, reason
 *   `bad_notification`); a read that fails is logged at most once a minute.
 *
 * @module
 */
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { type Clock, systemClock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import { getLogger, RateLimitedLog } from "../lib/log.ts";
import {
  parsePriceNotification,
  parseStrikeTableNotification,
  priceChannel,
  strikeTableChannel,
} from "../lib/notify_channels.ts";
import { problem } from "./http_problem.ts";

/** What the stream route needs. */
export interface MarketStreamDeps {
  sql: Sql;
  /** Counts a rejected input by reason. */
  reject(reason: string): void;
  /** The symbols to stream (lower case); default: those with a price log. */
  symbols(): Promise<string[]>;
  /** The latest price document of `symbol`, or null. */
  readPrice(symbol: string): Promise<Record<string, unknown> | null>;
  /** The strike table document of `symbol`, or null. */
  readTable(symbol: string): Promise<Record<string, unknown> | null>;
  clock?: Clock;
  heartbeatMs?: number;
  maxClients?: number;
}

type Kind = "price" | "strike_table";
/** One event to send. */
interface Push {
  kind: Kind;
  symbol: string;
  data: string;
}
interface Client {
  pending: Map<string, Push>;
  wake(): void;
}

const CHANNEL = /^[a-z]{2,10}$/;

/** Adds `GET /market/stream` to `app`. */
export function addMarketStreamRoute(app: Hono, deps: MarketStreamDeps): void {
  const clock = deps.clock ?? systemClock;
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const maxClients = deps.maxClients ?? 100;
  const failures = new RateLimitedLog(getLogger("supervisor", "http"), {
    perWindow: 1,
    windowMs: 60_000,
    now: () => clock.monotonic(),
  });
  const clients = new Set<Client>();
  let listening: Promise<{ symbols: string[]; stop: () => Promise<void> }> | undefined;
  /** Reads in flight, and those asked for again meanwhile (read once more when done). */
  const reading = new Set<string>();
  const again = new Set<string>();

  const read = (kind: Kind, symbol: string) =>
    kind === "price" ? deps.readPrice(symbol) : deps.readTable(symbol);

  /** Reads `kind` of `symbol` once and queues it for every client (coalesced per key). */
  function refresh(kind: Kind, symbol: string): void {
    const key = `${kind}:${symbol}`;
    if (reading.has(key)) {
      again.add(key);
      return;
    }
    reading.add(key);
    read(kind, symbol).then((doc) => {
      if (!doc) return;
      const push = { kind, symbol, data: JSON.stringify(doc) };
      for (const c of clients) {
        c.pending.set(key, push);
        c.wake();
      }
    }, (e) => {
      failures.warn(key, "Cannot read {key} for the market stream: {error}", {
        key,
        error: e instanceof Error ? e.message : String(e),
      });
    }).finally(() => {
      reading.delete(key);
      if (again.delete(key) && clients.size > 0) refresh(kind, symbol);
    });
  }

  async function startListening() {
    const symbols = (await deps.symbols()).filter((s) => CHANNEL.test(s));
    const subs: { unlisten(): Promise<void> }[] = [];
    const relisten = () => {
      for (const s of symbols) {
        refresh("price", s);
        refresh("strike_table", s);
      }
    };
    try {
      for (const symbol of symbols) {
        for (const kind of ["price", "strike_table"] as const) {
          const channel = kind === "price" ? priceChannel(symbol) : strikeTableChannel(symbol);
          let first = true;
          subs.push(
            await deps.sql.listen(channel, (payload) => {
              const n = kind === "price"
                ? parsePriceNotification(payload)
                : parseStrikeTableNotification(payload);
              if (!n || n.symbol !== symbol) deps.reject("bad_notification");
              else refresh(kind, symbol);
            }, () => {
              if (first) first = false;
              else relisten();
            }),
          );
        }
      }
    } catch (e) {
      await Promise.allSettled(subs.map((s) => s.unlisten()));
      throw e;
    }
    return {
      symbols,
      stop: async () => void await Promise.allSettled(subs.map((s) => s.unlisten())),
    };
  }

  /** The shared listener, opened by the first client (a failed open is retried by the next). */
  function listener() {
    listening ??= startListening().catch((e) => {
      listening = undefined;
      throw e;
    });
    return listening;
  }

  async function leave(c: Client): Promise<void> {
    clients.delete(c);
    if (clients.size > 0 || !listening) return;
    const l = listening;
    listening = undefined;
    await (await l.catch(() => null))?.stop();
  }

  app.get("/market/stream", async (c) => {
    if (clients.size >= maxClients) problem(503, `too many market streams (at most ${maxClients})`);
    const client: Client = { pending: new Map(), wake: () => {} };
    clients.add(client);
    let symbols: string[];
    try {
      symbols = (await listener()).symbols;
    } catch (e) {
      await leave(client);
      failures.warn("listen", "Cannot LISTEN for the market stream: {error}", {
        error: e instanceof Error ? e.message : String(e),
      });
      problem(503, "the market stream is unavailable (the database refused LISTEN)");
    }
    // Listening before the first reads: nothing committed after them goes unnoticed.
    for (const kind of ["price", "strike_table"] as const) {
      for (const s of symbols!) {
        const doc = await read(kind, s).catch(() => null);
        const key = `${kind}:${s}`;
        if (doc && !client.pending.has(key)) {
          client.pending.set(key, { kind, symbol: s, data: JSON.stringify(doc) });
        }
      }
    }
    c.header("X-Accel-Buffering", "no");
    return streamSSE(c, async (stream) => {
      let done = false;
      let wake: (() => void) | undefined;
      client.wake = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      stream.onAbort(() => {
        done = true;
        client.wake();
      });
      try {
        await stream.write(`retry: 2000\n: connected\n\n`);
        while (!done && !stream.aborted) {
          const next = client.pending.entries().next();
          if (next.done) {
            let cancel = () => {};
            const timedOut = await new Promise<boolean>((resolve) => {
              wake = () => resolve(false);
              cancel = clock.setTimer(() => resolve(true), heartbeatMs);
            });
            cancel();
            wake = undefined;
            if (timedOut && !done) await stream.write(": heartbeat\n\n");
            continue;
          }
          const [key, push] = next.value;
          client.pending.delete(key);
          await stream.writeSSE({ event: push.kind, data: push.data });
        }
      } finally {
        await leave(client);
      }
    });
  });
}
