/**
 * An in-process broadcaster of supervision events for live streams (`GET /events/stream`). The
 * event log calls {@linkcode EventBus.publish} for every event it records (before the event is
 * written, so streams see it at once); each event gets an id `<epoch ms>-<seq>` and stays in a
 * small ring so a client that reconnects with `Last-Event-ID` gets exactly what it missed while
 * the process was up; older ids are replayed from `system.supervisor_events`.
 *
 * Publishing never blocks and never throws: a subscriber that throws is dropped.
 *
 * @example
 * ```ts
 * import { EventBus } from "./event_bus.ts";
 * const bus = new EventBus({ node: "n1" });
 * const off = bus.subscribe((e) => console.log(e.id, e.event));
 * bus.publish({ actorId: "a", event: "start", at: Date.now() });
 * off();
 * ```
 *
 * @module
 */
import { type EventRowFields, eventRowFields, type SupervisorEvent } from "./event_log.ts";

/** One event as streams send it (the same field names as a `GET /events` row). */
export interface StreamEvent extends EventRowFields {
  /** `<epoch ms>-<seq>`: the SSE id. */
  id: string;
  /** Epoch ms. */
  atMs: number;
  /** Position in this process (increasing). */
  seq: number;
  at: string;
}

/** Options of {@linkcode EventBus}. */
export interface EventBusOptions {
  node: string;
  /** Recent events kept for exact replay (default 1000). */
  ringSize?: number;
}

/** A parsed `Last-Event-ID`. */
export interface EventCursor {
  atMs: number;
  seq: number;
}

/** Parses an id made by {@linkcode EventBus}; `undefined` when it is not one. */
export function parseEventId(id: string): EventCursor | undefined {
  const m = /^(\d{1,15})-(\d{1,15})$/.exec(id.trim());
  if (!m) return undefined;
  return { atMs: Number(m[1]), seq: Number(m[2]) };
}

/** Broadcasts supervision events to live subscribers and keeps the most recent ones. */
export class EventBus {
  #node: string;
  #ringSize: number;
  #ring: StreamEvent[] = [];
  #seq = 0;
  #subscribers = new Set<(e: StreamEvent) => void>();
  #closers = new Set<() => void>();
  #closed = false;

  constructor(options: EventBusOptions) {
    this.#node = options.node;
    this.#ringSize = options.ringSize ?? 1000;
  }

  /** Number of live subscribers. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Whether {@linkcode EventBus.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Turns a recorded event into a stream event and hands it to every subscriber. */
  publish(e: SupervisorEvent & { at: number }): void {
    const seq = ++this.#seq;
    const ev: StreamEvent = {
      id: `${e.at}-${seq}`,
      atMs: e.at,
      seq,
      at: new Date(e.at).toISOString(),
      ...eventRowFields(e, this.#node),
    };
    this.#ring.push(ev);
    if (this.#ring.length > this.#ringSize) this.#ring.shift();
    for (const fn of [...this.#subscribers]) {
      try {
        fn(ev);
      } catch {
        this.#subscribers.delete(fn);
      }
    }
  }

  /**
   * Events after `cursor` still in the ring, or `undefined` when the ring cannot say (the id is
   * from another process or older than the ring): the caller then reads the database.
   */
  since(cursor: EventCursor): StreamEvent[] | undefined {
    const hit = this.#ring.find((e) => e.seq === cursor.seq);
    if (hit && hit.atMs === cursor.atMs) return this.#ring.filter((e) => e.seq > cursor.seq);
    return undefined;
  }

  /** The ring's events newer than `atMs` (for topping up a replay from the database). */
  newerThan(atMs: number): StreamEvent[] {
    return this.#ring.filter((e) => e.atMs > atMs);
  }

  /**
   * Calls `fn` with every event published from now on; `onClose` runs when the bus closes.
   * Returns the unsubscribe function.
   */
  subscribe(fn: (e: StreamEvent) => void, onClose?: () => void): () => void {
    if (this.#closed) {
      onClose?.();
      return () => {};
    }
    this.#subscribers.add(fn);
    if (onClose) this.#closers.add(onClose);
    return () => {
      this.#subscribers.delete(fn);
      if (onClose) this.#closers.delete(onClose);
    };
  }

  /** Ends every subscription (streams close, so the HTTP server can shut down). */
  close(): void {
    this.#closed = true;
    const closers = [...this.#closers];
    this.#subscribers.clear();
    this.#closers.clear();
    for (const c of closers) {
      try {
        c();
      } catch { /* a closing stream must not stop the others */ }
    }
  }
}
