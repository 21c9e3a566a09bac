/**
 * The worker side of the supervision protocol: `init` → `ready`, a periodic `heartbeat` carrying
 * progress, `stop` → flush → `stopped`, and a structured `fatal` report from the `error` and
 * `unhandledrejection` hooks (the parent's error event carries no stack).
 *
 * An actor is a factory that takes an {@linkcode ActorContext} and returns an {@linkcode Actor};
 * its `worker.ts` only calls {@linkcode runActor}. {@linkcode hostActor} runs the same protocol
 * over any message port, so actors can be tested without a worker.
 *
 * @example
 * ```ts ignore
 * import { runActor } from "../_runtime.ts";
 * runActor((ctx) => ({
 *   start: async () => ctx.log.info("started"),
 *   stop: async () => {},
 * }));
 * ```
 *
 * @module
 */
import { type Clock, systemClock } from "../lib/clock.ts";
import { errorInfo } from "../lib/errors.ts";
import { getLogger, type Logger, setupLogging } from "../lib/log.ts";
import {
  type ActorMessage,
  type InitMessage,
  type LeaseGrant,
  type Progress,
  SupervisorMessage,
} from "../schema/messages.ts";

/**
 * The actor's lease (cluster mode): which grant its writes prove (`lib/fence.ts`).
 */
export interface LeaseView {
  /**
   * undefined: the actor is not a singleton (nothing is fenced). null: leased, but this node does
   * not hold it (a warm standby, or a holder that stepped down): write nothing. A grant: write
   * under it.
   */
  readonly current: LeaseGrant | null | undefined;
  /** Called on every change: a grant (new, or a new epoch) or null (lost: stop writing now). */
  onChange(fn: (grant: LeaseGrant | null) => void): void;
  /**
   * The database refused a write under the current grant (SQLSTATE RF001): counts
   * `writes.fenced`, steps down (current becomes null, listeners are told) and reports `fenced` to
   * the supervisor, once per grant.
   */
  fenced(error: unknown): void;
}

/** The lease of an actor that is not a singleton (tests and benches build contexts with it). */
export const NOT_LEASED: LeaseView = {
  current: undefined,
  onChange: () => {},
  fenced: () => {},
};

/** What an actor gets from the runtime. */
export interface ActorContext {
  readonly id: string;
  readonly incarnation: number;
  readonly node: string;
  readonly args: Record<string, unknown>;
  /** Database URL (a secret; never log it). */
  readonly databaseUrl: string | undefined;
  readonly log: Logger;
  readonly clock: Clock;
  /** Aborted when the supervisor asks the actor to stop. */
  readonly signal: AbortSignal;
  /** Counts handled messages/cycles. */
  handled(n?: number): void;
  /** Records the time (epoch ms) of the newest data the actor produced. */
  dataAt(ms: number): void;
  /** Adds to a counter (`rejected.bad_price`, `rows.written`, ...). */
  count(name: string, n?: number): void;
  /** Sets a gauge (`buffer.depth`, ...). */
  gauge(name: string, value: number): void;
  /** Replaces the details shown in /status. */
  setDetails(details: Record<string, unknown>): void;
  /** Tells the supervisor the actor runs but is impaired (e.g. authentication refused). */
  degraded(reason: string): void;
  /** Tells the supervisor the actor is healthy again. */
  recovered(): void;
  /** The actor's work is done (a job): stop it and report a normal exit. */
  finish(): void;
  /** The actor's lease (cluster mode). */
  readonly lease: LeaseView;
}

/** An actor: started once, stopped once. */
export interface Actor {
  /** Resolves when the actor is ready to do its work (connected, seeded). */
  start(): Promise<void>;
  /** Flushes and releases everything; resolves when nothing is left to write. */
  stop(): Promise<void>;
  /** Optional commands (drills, resync). */
  command?(name: string, payload: unknown): Promise<unknown>;
}

/** Builds an actor from its context. */
export type ActorFactory = (ctx: ActorContext) => Actor | Promise<Actor>;

/** The minimal port the runtime talks through (a worker's `self`, or a test double). */
export interface Port {
  postMessage(message: ActorMessage): void;
  onmessage: ((event: MessageEvent) => void) | null;
}

export interface HostOptions {
  clock?: Clock;
  /** Configure LogTape from the init message (true in a worker). */
  configureLogging?: boolean;
  /** Called after `stopped` is posted (a worker closes itself). */
  onStopped?: () => void;
}

/**
 * Runs an actor over `port`: waits for `init`, then follows the protocol. Returns a function
 * that reports an unexpected error as `fatal` (used by the worker's error hooks).
 */
export function hostActor(
  port: Port,
  factory: ActorFactory,
  options: HostOptions = {},
): (error: unknown) => void {
  const clock = options.clock ?? systemClock;
  let actor: Actor | undefined;
  let init: InitMessage | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let stopping = false;
  let fatalSent = false;
  const abort = new AbortController();
  const progress: Progress = {
    handled: 0,
    newestDataAt: null,
    heapUsed: 0,
    counters: {},
  };
  const post = (m: ActorMessage) => port.postMessage(m);
  let grant: LeaseGrant | null | undefined;
  const leaseListeners: ((g: LeaseGrant | null) => void)[] = [];
  const setGrant = (g: LeaseGrant | null) => {
    grant = g;
    for (const fn of leaseListeners) fn(g);
  };
  const lease: LeaseView = {
    get current() {
      return grant;
    },
    onChange: (fn) => void leaseListeners.push(fn),
    fenced(error) {
      const held = grant;
      progress.counters["writes.fenced"] = (progress.counters["writes.fenced"] ?? 0) + 1;
      if (!held) return; // already stepped down
      setGrant(null);
      post({ type: "fenced", lease: held, error: errorInfo(error).message });
    },
  };
  const beat = () => {
    progress.heapUsed = Deno.memoryUsage().heapUsed;
    post({ type: "heartbeat", at: clock.now(), progress });
  };
  const fatal = (error: unknown) => {
    if (fatalSent) return;
    fatalSent = true;
    if (timer !== undefined) clearInterval(timer);
    post({ type: "fatal", error: errorInfo(error) });
  };

  const onInit = async (m: InitMessage) => {
    init = m;
    grant = m.lease;
    if (options.configureLogging) {
      await setupLogging({ format: m.log.format, level: m.log.level });
    }
    const log = getLogger("actor", m.id);
    const ctx: ActorContext = {
      id: m.id,
      incarnation: m.incarnation,
      node: m.node,
      args: m.args,
      databaseUrl: m.databaseUrl,
      log,
      clock,
      signal: abort.signal,
      handled: (n = 1) => void (progress.handled += n),
      dataAt: (ms) => {
        if (progress.newestDataAt === null || ms > progress.newestDataAt) {
          progress.newestDataAt = ms;
        }
      },
      count: (name, n = 1) => void (progress.counters[name] = (progress.counters[name] ?? 0) + n),
      gauge: (name, value) => void (progress.counters[name] = value),
      setDetails: (details) => void (progress.details = details),
      degraded: (reason) => post({ type: "health", state: "degraded", reason }),
      recovered: () => post({ type: "health", state: "running" }),
      finish: () => void onStop().catch(fatal),
      lease,
    };
    timer = setInterval(beat, m.heartbeatMs);
    beat();
    actor = await factory(ctx);
    await actor.start();
    if (!stopping) post({ type: "ready" });
  };

  const onStop = async () => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    try {
      await actor?.stop();
    } finally {
      if (timer !== undefined) clearInterval(timer);
      post({ type: "stopped" });
      options.onStopped?.();
    }
  };

  port.onmessage = (event: MessageEvent) => {
    const parsed = SupervisorMessage.safeParse(event.data);
    if (!parsed.success) {
      // Our own protocol broken: an invariant, so crash loudly.
      fatal(new Error(`Cannot handle supervisor message: ${parsed.error.message}`));
      return;
    }
    const m = parsed.data;
    switch (m.type) {
      case "init":
        if (init) return fatal(new Error("Cannot init twice"));
        onInit(m).catch(fatal);
        break;
      case "stop":
        onStop().catch(fatal);
        break;
      case "lease":
        // Only a leased actor is told about its lease; an unchanged grant is not news.
        if (grant === undefined) return fatal(new Error("Cannot take a lease: not a leased actor"));
        if (grant?.epoch === m.lease?.epoch && grant?.node === m.lease?.node) break;
        setGrant(m.lease);
        break;
      case "command": {
        const run = actor?.command;
        if (!run) {
          post({
            type: "command_result",
            id: m.id,
            name: m.name,
            ok: false,
            error: `unknown command "${m.name}"`,
          });
          break;
        }
        // A command that throws synchronously is a failed command, not a crash.
        Promise.resolve().then(() => run.call(actor, m.name, m.payload)).then(
          (result) => post({ type: "command_result", id: m.id, name: m.name, ok: true, result }),
          (e) =>
            post({
              type: "command_result",
              id: m.id,
              name: m.name,
              ok: false,
              error: errorInfo(e).message,
            }),
        );
        break;
      }
    }
  };
  return fatal;
}

/** Entry point for an actor's `worker.ts`. */
export function runActor(factory: ActorFactory): void {
  const scope = self as unknown as Port & {
    addEventListener: typeof globalThis.addEventListener;
    close(): void;
  };
  const fatal = hostActor(scope, factory, {
    configureLogging: true,
    onStopped: () => setTimeout(() => scope.close(), 0),
  });
  // The report carries the stack; the supervisor then terminates the worker. preventDefault()
  // keeps Deno from printing the error a second time on its way to the parent.
  scope.addEventListener("error", (e: Event) => {
    const ev = e as ErrorEvent;
    fatal(ev.error ?? new Error(ev.message));
    e.preventDefault();
  });
  scope.addEventListener("unhandledrejection", (e: Event) => {
    fatal((e as PromiseRejectionEvent).reason);
    e.preventDefault();
  });
}
