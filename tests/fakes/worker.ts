/**
 * A fake Web Worker for supervisor unit tests, made by the `workerFactory` option: it speaks the
 * actor side of the protocol on a clock (a `ManualClock`): `ready` after `init` (unless told
 * not to), a heartbeat every `heartbeatMs` of the clock carrying {@linkcode FakeWorker.newestDataAt},
 * `stopped` after `stop`. It records what the supervisor posts; the test makes it crash, fall
 * silent or answer commands.
 *
 * @example
 * ```ts ignore
 * const workers = fakeWorkers(clock);
 * const sup = new Supervisor(specs, { node: "t", events, clock, workerFactory: workers.factory });
 * sup.start();
 * await clock.tick(0);
 * workers.last("a").crash("boom");
 * ```
 *
 * @module
 */
import type { Clock } from "../../lib/clock.ts";
import type { InitMessage } from "../../schema/messages.ts";

/** How a fake worker behaves until the test says otherwise. */
export interface FakeBehaviour {
  /** Answer `init` with `ready` (default true). */
  ready?: boolean;
  /** Heartbeat on the clock every `init.heartbeatMs` once ready (default true). */
  heartbeat?: boolean;
  /** Answer `stop` with `stopped` (default true). */
  answerStop?: boolean;
}

/** One fake worker. */
export class FakeWorker extends EventTarget {
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  onmessageerror: ((e: MessageEvent) => void) | null = null;
  /** Everything the supervisor posted, in order. */
  readonly posted: { type: string; [k: string]: unknown }[] = [];
  terminated = false;
  /** Newest data time the next heartbeats report (null: none). */
  newestDataAt: number | null = null;
  /** Stops heartbeating (a silent or blocked worker). */
  silent = false;
  readonly url: string;
  readonly options: WorkerOptions;
  #clock: Clock;
  #behaviour: FakeBehaviour;
  #cancelBeat: (() => void) | undefined;

  constructor(url: string, options: WorkerOptions, clock: Clock, behaviour: FakeBehaviour) {
    super();
    this.url = url;
    this.options = options;
    this.#clock = clock;
    this.#behaviour = behaviour;
  }

  /** The `init` the worker got. */
  get init(): InitMessage | undefined {
    return this.posted.find((m) => m.type === "init") as InitMessage | undefined;
  }

  /** The `command` messages the worker got. */
  get commands(): { id: number; name: string; payload?: unknown }[] {
    return this.posted.filter((m) => m.type === "command") as unknown as {
      id: number;
      name: string;
      payload?: unknown;
    }[];
  }

  postMessage(message: { type: string; [k: string]: unknown }): void {
    if (this.terminated) return;
    this.posted.push(structuredClone(message));
    if (message.type === "init" && this.#behaviour.ready !== false) {
      queueMicrotask(() => {
        this.send({ type: "ready" });
        if (this.#behaviour.heartbeat !== false) this.#beat(this.init!.heartbeatMs);
      });
    }
    if (message.type === "stop" && this.#behaviour.answerStop !== false) {
      queueMicrotask(() => this.send({ type: "stopped" }));
    }
  }

  /** The worker posts `data` to the supervisor. */
  send(data: unknown): void {
    if (this.terminated) return;
    const e = new MessageEvent("message", { data });
    this.onmessage?.(e);
    this.dispatchEvent(e);
  }

  /** The worker throws: its error event. */
  crash(message: string): void {
    if (this.terminated) return;
    this.onerror?.(new ErrorEvent("error", { message, cancelable: true }));
  }

  terminate(): void {
    this.terminated = true;
    this.#cancelBeat?.();
  }

  #beat(everyMs: number): void {
    this.#cancelBeat = this.#clock.setTimer(() => {
      if (this.terminated) return;
      if (!this.silent) {
        this.send({
          type: "heartbeat",
          at: this.#clock.now(),
          progress: { handled: 0, newestDataAt: this.newestDataAt, heapUsed: 0, counters: {} },
        });
      }
      this.#beat(everyMs);
    }, everyMs);
  }
}

/** A `workerFactory` making {@linkcode FakeWorker}s on `clock`, and the workers it made. */
export function fakeWorkers(clock: Clock, behaviour: (id: string) => FakeBehaviour = () => ({})) {
  const created: FakeWorker[] = [];
  const factory = (url: string, options: WorkerOptions): Worker => {
    const w = new FakeWorker(url, options, clock, behaviour(options.name ?? ""));
    created.push(w);
    return w as unknown as Worker;
  };
  /** The newest worker of child `id`. */
  const last = (id: string): FakeWorker => {
    const w = created.findLast((x) => x.options.name === id);
    if (!w) throw new Error(`no worker was made for "${id}"`);
    return w;
  };
  return { created, factory, last };
}
