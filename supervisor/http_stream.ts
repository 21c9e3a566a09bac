/**
 * `GET /events/stream`: supervision events as Server-Sent Events, live as they are recorded.
 *
 * - Each event is `event: supervision`, `id: <epoch ms>-<seq>`, `data:` one JSON object with the
 *   fields of a `GET /events` row.
 * - A comment line (`: heartbeat`) every `heartbeatMs` (15 s) keeps proxies from closing an idle
 *   stream and lets clients notice a dead one.
 * - `Last-Event-ID` (sent by `EventSource` on reconnect) replays what was missed: exactly from the
 *   bus's ring while the id is from this process and recent, otherwise from
 *   `system.supervisor_events` (events newer than the id's time, at most `replayLimit`). Delivery
 *   is at least once; an unparsable id, or one more than a minute ahead of the clock (no event
 *   can have it), is a 400. A replay that fails (the database is down) ends the stream with a
 *   comment; the client reconnects, and the failure is logged at most once a minute.
 * - A client too slow to keep up (more than `maxQueued` events waiting) is disconnected; its
 *   `EventSource` reconnects and replays. At most `maxClients` streams at a time (503 beyond).
 *
 * @module
 */
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { type Clock, systemClock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import { getLogger, RateLimitedLog } from "../lib/log.ts";
import { type EventBus, parseEventId, type StreamEvent } from "./event_bus.ts";
import { readEvents } from "./event_log.ts";
import { problem } from "./http_problem.ts";

/** What the stream route needs. */
export interface StreamRouteDeps {
  bus: EventBus;
  sql: Sql;
  /** Counts a rejected request by reason. */
  reject(reason: string): void;
  heartbeatMs?: number;
  maxClients?: number;
  maxQueued?: number;
  replayLimit?: number;
  clock?: Clock;
}

type Wire = Omit<StreamEvent, "atMs" | "seq">;

function wire(e: StreamEvent): Wire {
  const { atMs: _a, seq: _s, ...rest } = e;
  return rest;
}

/** Rows of `system.supervisor_events` newer than `atMs`, oldest first, as stream events. */
async function replayFromDb(sql: Sql, atMs: number, limit: number): Promise<Wire[]> {
  const rows = await readEvents(sql, { after: new Date(atMs), order: "oldest", limit });
  return rows.map((r) => ({
    ...r,
    // seq 0: not from a live ring, so a reconnect with this id replays from the database again.
    id: `${r.at.getTime()}-0`,
    at: r.at.toISOString(),
    uptime_ms: r.uptime_ms === null ? null : Number(r.uptime_ms),
    epoch: r.epoch === null ? null : Number(r.epoch),
  }));
}

/** Adds `GET /events/stream` to `app`. */
export function addEventStreamRoute(app: Hono, deps: StreamRouteDeps): void {
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const maxClients = deps.maxClients ?? 100;
  const maxQueued = deps.maxQueued ?? 1_000;
  const replayLimit = deps.replayLimit ?? 1_000;
  const clock = deps.clock ?? systemClock;
  const failures = new RateLimitedLog(getLogger("supervisor", "http"), {
    perWindow: 1,
    windowMs: 60_000,
    now: () => clock.monotonic(),
  });
  let clients = 0;

  app.get("/events/stream", (c) => {
    const raw = c.req.header("last-event-id");
    const cursor = raw === undefined || raw.trim() === "" ? undefined : parseEventId(raw);
    if (raw !== undefined && raw.trim() !== "" && !cursor) {
      deps.reject("bad_last_event_id");
      problem(400, `invalid header "Last-Event-ID": expected <epoch ms>-<seq>`);
    }
    if (cursor && cursor.atMs > clock.now() + 60_000) {
      deps.reject("bad_last_event_id");
      problem(400, `invalid header "Last-Event-ID": its time is in the future`);
    }
    if (deps.bus.closed) problem(503, "the supervisor is shutting down");
    if (clients >= maxClients) problem(503, `too many event streams (at most ${maxClients})`);
    clients++;
    c.header("X-Accel-Buffering", "no");
    return streamSSE(c, async (stream) => {
      const queue: StreamEvent[] = [];
      let done = false;
      let wake: (() => void) | undefined;
      const poke = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const off = deps.bus.subscribe((e) => {
        queue.push(e);
        if (queue.length > maxQueued) done = true;
        poke();
      }, () => {
        done = true;
        poke();
      });
      stream.onAbort(() => {
        done = true;
        poke();
      });
      let sentSeq = 0;
      const send = async (e: Wire) => {
        await stream.writeSSE({ event: "supervision", id: e.id, data: JSON.stringify(e) });
      };
      /** Sends what the client missed; false when the replay failed (the stream ends). */
      const replay = async (cursor: { atMs: number; seq: number }): Promise<boolean> => {
        const fromRing = deps.bus.since(cursor);
        if (fromRing) {
          for (const e of fromRing) await send(wire(e));
          sentSeq = fromRing.at(-1)?.seq ?? cursor.seq;
          return true;
        }
        let rows: Wire[];
        try {
          rows = await replayFromDb(deps.sql, cursor.atMs, replayLimit);
        } catch (e) {
          deps.reject("replay_failed");
          failures.warn("replay", "Cannot replay the event stream from the database: {error}", {
            error: e instanceof Error ? e.message : String(e),
          });
          await stream.write(": replay failed, reconnect later\n\n");
          return false;
        }
        for (const r of rows) await send(r);
        const last = rows.at(-1);
        // Events recorded but not yet written: top up from the ring.
        const top = deps.bus.newerThan(last ? Date.parse(last.at) : cursor.atMs);
        for (const e of top) await send(wire(e));
        sentSeq = top.at(-1)?.seq ?? 0;
        return true;
      };
      try {
        await stream.write(`retry: 2000\n: connected\n\n`);
        if (cursor && !(await replay(cursor))) return;
        while (!done && !stream.aborted) {
          if (queue.length === 0) {
            let timer: ReturnType<typeof setTimeout> | undefined;
            const timedOut = await new Promise<boolean>((resolve) => {
              wake = () => resolve(false);
              timer = setTimeout(() => resolve(true), heartbeatMs);
            });
            clearTimeout(timer);
            wake = undefined;
            if (timedOut && !done) await stream.write(": heartbeat\n\n");
            continue;
          }
          const e = queue.shift()!;
          if (e.seq <= sentSeq) continue;
          sentSeq = e.seq;
          await send(wire(e));
        }
      } finally {
        off();
        clients--;
      }
    });
  });
}
