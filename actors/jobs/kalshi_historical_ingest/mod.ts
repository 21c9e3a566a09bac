/**
 * `kalshi_historical_ingest`: pages through a user's fills, settlements and orders from the
 * beginning (or `since` a date) straight into PostgreSQL. Each page is written together with the
 * cursor of the next one (`<user>.sync_cursors`, streams `backfill:<stream>`) in one transaction,
 * so a run stopped anywhere resumes at the first page it had not written. Writes are idempotent
 * on natural keys, so it is safe beside `kalshi_account_sync`. A finished stream clears its
 * cursor; the next run starts over (and writes nothing new).
 *
 * @example
 * ```ts ignore
 * const summary = await runBackfill({ client, store, since: new Date("2025-01-01") });
 * ```
 *
 * @module
 */
import type { z } from "zod";
import type { AccountStore, RefusedRow } from "../../../lib/kalshi/account_store.ts";
import type { KalshiClient } from "../../../lib/kalshi/client.ts";
import { Fill, Order, Settlement } from "../../../lib/kalshi/schemas.ts";
import { INGEST_STREAMS } from "../../../schema/actor_args.ts";

/** The streams a backfill can page through. */
export const STREAMS = INGEST_STREAMS;
export type Stream = typeof STREAMS[number];

const SOURCES = {
  fills: { path: "/portfolio/fills", key: "fills" },
  settlements: { path: "/portfolio/settlements", key: "settlements" },
  orders: { path: "/portfolio/orders", key: "orders" },
} as const;

/** What one stream did. */
export interface StreamSummary {
  pages: number;
  /** Rows that were new (or changed, for orders). */
  written: number;
  rejected: number;
  /** Rows PostgreSQL refused for their data, left out alone (the rest of the page written). */
  refused: number;
  resumed: boolean;
  finished: boolean;
}

export interface BackfillOptions {
  client: KalshiClient;
  store: AccountStore;
  streams?: readonly Stream[];
  /** Only items at or after this time (Kalshi's `min_ts`). */
  since?: Date | undefined;
  pageLimit?: number;
  signal?: AbortSignal;
  /** Stop after this many pages in all (an interrupted run, for tests). */
  maxPages?: number;
  onReject?: (stream: Stream, issue: string) => void;
  /** Rows PostgreSQL refused on a page, with their reasons (the store left them out). */
  onRefused?: (stream: Stream, refused: { count: number; rows: readonly RefusedRow[] }) => void;
  onPage?: (stream: Stream, items: number) => void;
}

/** The cursor stream name of `stream`. */
export function cursorStream(stream: Stream): string {
  return `backfill:${stream}`;
}

/** Runs (or resumes) a backfill; resolves with a summary per stream. */
export async function runBackfill(
  options: BackfillOptions,
): Promise<Record<Stream, StreamSummary>> {
  const { client, store } = options;
  const out = {} as Record<Stream, StreamSummary>;
  let pagesLeft = options.maxPages ?? Infinity;
  for (const stream of options.streams ?? STREAMS) {
    const summary: StreamSummary = {
      pages: 0,
      written: 0,
      rejected: 0,
      refused: 0,
      resumed: false,
      finished: false,
    };
    out[stream] = summary;
    if (pagesLeft <= 0) continue;
    const name = cursorStream(stream);
    const since = options.since ?? null;
    const stored = await store.getCursor(name);
    // The stored `last_time` is the `since` the run started with: resume only the same run.
    const sameRun = stored?.cursor &&
      (stored.lastTime?.getTime() ?? null) === (since?.getTime() ?? null);
    const startCursor = sameRun ? stored!.cursor! : "";
    summary.resumed = startCursor !== "";
    const { path, key } = SOURCES[stream];
    const query = since ? { min_ts: Math.floor(since.getTime() / 1000) } : {};
    for await (
      const page of client.pages(path, key, {
        query,
        cursor: startCursor,
        limit: options.pageLimit ?? 1000,
        signal: options.signal,
      })
    ) {
      const schema: z.ZodType = stream === "fills"
        ? Fill
        : stream === "settlements"
        ? Settlement
        : Order;
      const rows: unknown[] = [];
      for (const item of page.items) {
        const r = schema.safeParse(item);
        if (r.success) rows.push(r.data);
        else {
          summary.rejected++;
          options.onReject?.(stream, r.error.issues[0]?.message ?? "invalid");
        }
      }
      summary.written += await store.transaction(async (tx) => {
        const n = stream === "fills"
          ? await store.insertFills(rows as z.output<typeof Fill>[], tx)
          : stream === "settlements"
          ? await store.insertSettlements(rows as z.output<typeof Settlement>[], tx)
          : await store.upsertOrders(rows as z.output<typeof Order>[], tx);
        if (page.cursor) await store.setCursor(name, { cursor: page.cursor, lastTime: since }, tx);
        else await store.deleteCursor(name, tx);
        return n;
      });
      const refused = store.takeRefused();
      if (refused.count > 0) {
        summary.refused += refused.count;
        options.onRefused?.(stream, refused);
      }
      summary.pages++;
      options.onPage?.(stream, page.items.length);
      if (!page.cursor) summary.finished = true;
      if (--pagesLeft <= 0) break;
    }
  }
  return out;
}

/** Reads `--user`, `--since YYYY-MM-DD` and `--streams a,b` from a command line. */
export function parseBackfillArgs(
  argv: readonly string[],
): { user: string; since: Date | undefined; streams: Stream[] } {
  let user = "user_0001";
  let since: Date | undefined;
  let streams: Stream[] = [...STREAMS];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`Cannot read ${a}: a value is missing`);
      return v;
    };
    if (a === "--user") user = value();
    else if (a === "--since") {
      const v = value();
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) {
        throw new Error(`Cannot read --since "${v}": expected YYYY-MM-DD`);
      }
      since = new Date(`${v}T00:00:00Z`);
    } else if (a === "--streams") {
      const list = value().split(",").map((s) => s.trim()).filter(Boolean);
      for (const s of list) {
        if (!(STREAMS as readonly string[]).includes(s)) {
          throw new Error(`Cannot read --streams: unknown stream "${s}"`);
        }
      }
      streams = list as Stream[];
    } else throw new Error(`Cannot read argument "${a}"`);
  }
  if (!/^user_[0-9]{4}$/.test(user)) throw new Error(`Cannot read --user "${user}"`);
  return { user, since, streams };
}
