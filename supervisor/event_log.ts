/**
 * Supervision events and actor state rows, written through a queue that never blocks
 * supervision: `record()` and `setStatus()` return at once; a flusher writes batches to
 * `system.supervisor_events` and `system.actor_status`, and keeps them (bounded) while PostgreSQL
 * is down, writing them in order when it returns. Text is cleaned as it is queued (NUL, broken
 * UTF-16, bounded length); a row PostgreSQL still refuses for its data (an out-of-range number) is
 * dropped alone and counted in `rejected`, so one bad event can never stop the log.
 *
 * @example
 * ```ts ignore
 * const log = new EventLog(sql, { node: "n1" });
 * log.record({ actorId: "a", event: "start" });
 * await log.flush();
 * ```
 *
 * @module
 */
import {
  cleanJson,
  cleanText,
  isDataError,
  rejectionReason,
  writeSplitting,
} from "../lib/bad_rows.ts";
import { backoffDelay } from "../lib/backoff.ts";
import { sleep } from "../lib/sleep.ts";
import type { Sql, TransactionSql } from "../lib/db.ts";
import { type Clock, systemClock } from "../lib/clock.ts";
import { getLogger, RateLimitedLog } from "../lib/log.ts";

/** One supervision event. */
export interface SupervisorEvent {
  actorId: string | null;
  event: string;
  incarnation?: number | null;
  reason?: string | null;
  error?: string | null;
  restartCount?: number | null;
  uptimeMs?: number | null;
  details?: Record<string, unknown> | null;
  /** The lease epoch a lease event (`lease_acquired`, `lease_lost`, `fenced`...) is about. */
  epoch?: number | null;
  /** Epoch ms; set by record() when absent. */
  at?: number;
}

/** The current state of one actor. */
export interface ActorStatusRow {
  actorId: string;
  state: string;
  incarnation: number;
  restarts: number;
  lastHeartbeatAt: number | null;
  newestDataAt: number | null;
  stale: boolean;
  reason: string | null;
  details: Record<string, unknown>;
}

export interface EventLogOptions {
  node: string;
  clock?: Clock;
  flushMs?: number;
  /** Most events kept while the database is down; older ones are dropped and counted. */
  maxQueued?: number;
  /** Called with each event as it is recorded (for SSE streams, tests). */
  onEvent?: (e: Required<Pick<SupervisorEvent, "at">> & SupervisorEvent) => void;
}

/** The columns of a `system.supervisor_events` row (and of `/events`, `/events/stream`), but its time. */
export interface EventRowFields {
  node: string;
  actor_id: string | null;
  incarnation: number | null;
  event: string;
  reason: string | null;
  error: string | null;
  restart_count: number | null;
  uptime_ms: number | null;
  details: Record<string, unknown> | null;
  epoch: number | null;
}

/** One event as its row, in the one shape the table, the API and the stream share. */
export function eventRowFields(e: SupervisorEvent, node: string): EventRowFields {
  return {
    node,
    actor_id: e.actorId,
    incarnation: e.incarnation ?? null,
    event: e.event,
    reason: e.reason ?? null,
    error: e.error ?? null,
    restart_count: e.restartCount ?? null,
    uptime_ms: e.uptimeMs === null || e.uptimeMs === undefined ? null : Math.round(e.uptimeMs),
    details: e.details ?? null,
    epoch: e.epoch ?? null,
  };
}

/** A `system.supervisor_events` row read back (bigints as the driver gives them: strings). */
export interface EventRow extends Omit<EventRowFields, "uptime_ms" | "epoch"> {
  id: string;
  at: Date;
  uptime_ms: string | null;
  epoch: string | null;
}

/** Which rows {@linkcode readEvents} returns. */
export interface EventQuery {
  actor?: string;
  /** Rows at or after this time. */
  since?: Date;
  /** Rows strictly after this time. */
  after?: Date;
  /** `newest` first (`GET /events`) or `oldest` first (a stream's replay). */
  order: "newest" | "oldest";
  limit: number;
}

/** The one select of supervision events, for `GET /events` and the stream's replay. */
export async function readEvents(sql: Sql, q: EventQuery): Promise<EventRow[]> {
  return await sql<EventRow[]>`
    select id, at, node, actor_id, incarnation, event, reason, error, restart_count, uptime_ms,
           details, epoch
    from system.supervisor_events
    where true
      ${q.actor ? sql`and actor_id = ${q.actor}` : sql``}
      ${q.since ? sql`and at >= ${q.since}` : sql``}
      ${q.after ? sql`and at > ${q.after}` : sql``}
    ${q.order === "newest" ? sql`order by at desc, id desc` : sql`order by at, id`}
    limit ${q.limit}`;
}

type QueuedEvent = SupervisorEvent & { at: number };
type QueuedStatus = ActorStatusRow & { at: number };

/** Non-blocking writer of supervision events and actor status. */
export class EventLog {
  #sql: Sql;
  #opts: Required<Omit<EventLogOptions, "onEvent">> & Pick<EventLogOptions, "onEvent">;
  #queue: QueuedEvent[] = [];
  #status = new Map<string, QueuedStatus>();
  /** Cancels the pending flush, when one is set. */
  #timer: (() => void) | undefined;
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #closed = false;
  #log = getLogger("supervisor", "event_log");
  #rejectLog = new RateLimitedLog(getLogger("supervisor", "event_log"), {
    perWindow: 5,
    windowMs: 60_000,
    now: () => Date.now(),
  });
  /** Events dropped because the queue was full (never silent: logged and counted). */
  dropped = 0;
  /** Events and status rows PostgreSQL refused for their data (dropped alone, logged). */
  rejected = 0;
  /** Total rows written. */
  written = 0;
  /** Whether the last write attempt failed. */
  degraded = false;

  constructor(sql: Sql, options: EventLogOptions) {
    this.#sql = sql;
    this.#opts = {
      clock: systemClock,
      flushMs: 200,
      maxQueued: 100_000,
      ...options,
    };
  }

  /** Events waiting to be written. */
  get pending(): number {
    return this.#queue.length + this.#status.size;
  }

  /** Queues an event; never blocks, never throws. */
  record(event: SupervisorEvent): void {
    const e = {
      ...event,
      actorId: event.actorId === null ? null : cleanText(event.actorId, 200),
      event: cleanText(event.event, 100),
      reason: event.reason == null ? event.reason : cleanText(event.reason, 2_000),
      error: event.error == null ? event.error : cleanText(event.error, 20_000),
      details: event.details == null ? event.details : cleanJson(event.details, 2_000),
      at: event.at ?? this.#opts.clock.now(),
    };
    this.#queue.push(e);
    if (this.#queue.length > this.#opts.maxQueued) {
      this.#queue.shift();
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0) {
        this.#log.error("Supervisor event queue full; dropped {dropped} oldest events", {
          dropped: this.dropped,
        });
      }
    }
    this.#opts.onEvent?.(e);
    this.#schedule();
  }

  /** Queues the current state of an actor (only the newest per actor is kept). */
  setStatus(row: ActorStatusRow): void {
    const actorId = cleanText(row.actorId, 200);
    this.#status.set(actorId, {
      ...row,
      actorId,
      state: cleanText(row.state, 50),
      reason: row.reason === null ? null : cleanText(row.reason, 2_000),
      details: cleanJson(row.details, 2_000),
      at: this.#opts.clock.now(),
    });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    // After failures, back off from twice the flush interval to 10 s (no jitter: one writer).
    const delay = this.#failures === 0
      ? this.#opts.flushMs
      : backoffDelay(this.#failures + 1, { baseMs: this.#opts.flushMs, maxMs: 10_000, jitter: 0 });
    this.#timer = this.#opts.clock.setTimer(() => {
      this.#timer = undefined;
      this.#flushOnce().catch(() => {});
    }, delay);
  }

  #flushOnce(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    this.#flushing = this.#write().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async #write(): Promise<void> {
    const events = this.#queue.slice(0, 1000);
    const statuses = [...this.#status.values()];
    if (events.length === 0 && statuses.length === 0) return;
    // Removes exactly what was handled; newer items may have arrived meanwhile.
    const doneEvents = (n: number) => {
      this.#queue.splice(0, n);
      this.written += n;
    };
    const doneStatuses = (rows: readonly QueuedStatus[]) => {
      for (const s of rows) {
        if (this.#status.get(s.actorId) === s) this.#status.delete(s.actorId);
      }
    };
    try {
      try {
        await this.#sql.begin(async (tx) => {
          await this.#insertEvents(tx, events);
          for (const s of statuses) await this.#upsertStatus(tx, s);
        });
        doneEvents(events.length);
        doneStatuses(statuses);
      } catch (error) {
        // Refused for its data: write apart, so only the rows PostgreSQL refuses are dropped.
        // A connection error is rethrown and everything stays queued.
        if (!isDataError(error)) throw error;
        let handled = 0;
        try {
          await writeSplitting(events, {
            write: (rows) => this.#sql.begin((tx) => this.#insertEvents(tx, rows)),
            onReject: (row, e) => this.#reject("event", row.actorId, e),
            onDone: (rows) => handled += rows.length,
          });
        } finally {
          doneEvents(handled);
        }
        await writeSplitting(statuses, {
          write: (rows) => this.#sql.begin((tx) => this.#upsertStatus(tx, rows[0]!)),
          onReject: (row, e) => this.#reject("status", row.actorId, e),
          onDone: doneStatuses,
        });
      }
      if (this.degraded) this.#log.info("Supervisor event log writing again");
      this.degraded = false;
      this.#failures = 0;
    } catch (error) {
      this.#failures++;
      if (!this.degraded) {
        this.#log.warn("Cannot write supervisor events; keeping {pending} queued: {error}", {
          pending: this.pending,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      this.degraded = true;
    } finally {
      if (this.pending > 0) this.#schedule();
    }
  }

  #reject(kind: string, actorId: string | null, error: unknown): void {
    this.rejected++;
    this.#rejectLog.warn(
      kind,
      "Supervisor {kind} row of {actorId} refused by PostgreSQL and dropped: {reason}",
      { kind, actorId, reason: rejectionReason(error), rejected: this.rejected },
    );
  }

  async #insertEvents(tx: TransactionSql, events: readonly QueuedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const node = this.#opts.node;
    const rows = events.map((e) => ({ at: new Date(e.at), ...eventRowFields(e, node) }));
    await tx`insert into system.supervisor_events ${
      tx(
        rows as unknown as Record<string, never>[],
        "at",
        "node",
        "actor_id",
        "incarnation",
        "event",
        "reason",
        "error",
        "restart_count",
        "uptime_ms",
        "details",
        "epoch",
      )
    }`;
  }

  async #upsertStatus(tx: TransactionSql, s: QueuedStatus): Promise<void> {
    await tx`
      insert into system.actor_status (actor_id, node, state, incarnation, restarts,
        last_heartbeat_at, newest_data_at, stale, reason, details, updated_at)
      values (${s.actorId}, ${this.#opts.node}, ${s.state}, ${s.incarnation}, ${s.restarts},
        ${s.lastHeartbeatAt === null ? null : new Date(s.lastHeartbeatAt)},
        ${s.newestDataAt === null ? null : new Date(s.newestDataAt)},
        ${s.stale}, ${s.reason}, ${tx.json(s.details as never)}, ${new Date(s.at)})
      on conflict (actor_id, node) do update set state = excluded.state,
        incarnation = excluded.incarnation, restarts = excluded.restarts,
        last_heartbeat_at = excluded.last_heartbeat_at,
        newest_data_at = excluded.newest_data_at, stale = excluded.stale,
        reason = excluded.reason, details = excluded.details,
        updated_at = excluded.updated_at`;
  }

  /** Writes everything queued; resolves when the queue is empty or `timeoutMs` passed. */
  async flush(timeoutMs = 5_000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.pending > 0 && performance.now() < deadline) {
      if (this.#timer !== undefined) {
        this.#timer();
        this.#timer = undefined;
      }
      await this.#flushOnce();
      if (this.pending > 0 && this.degraded) {
        await sleep(Math.min(250, deadline - performance.now()), { clock: this.#opts.clock });
      }
    }
    return this.pending === 0;
  }

  /** Stops the timer (after a final flush by the caller). */
  close(): void {
    this.#closed = true;
    this.#timer?.();
    this.#timer = undefined;
  }
}

/**
 * Restart times per actor within `sinceMs` of now, read back from `system.supervisor_events`
 * so a crash loop is not forgotten across process restarts.
 */
export async function loadRestartHistory(
  sql: Sql,
  node: string,
  since: Date,
): Promise<Map<string, number[]>> {
  const rows = await sql<{ actor_id: string; at: Date }[]>`
    select actor_id, at from system.supervisor_events
    where node = ${node} and event = 'restart' and at >= ${since} and actor_id is not null
    order by at desc`;
  const out = new Map<string, number[]>();
  for (const r of rows) {
    const list = out.get(r.actor_id) ?? [];
    list.push(r.at.getTime());
    out.set(r.actor_id, list);
  }
  return out;
}
