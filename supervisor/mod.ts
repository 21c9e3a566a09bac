/**
 * The supervisor: starts Web Worker actors from validated child specs in dependency order,
 * restarts them by policy, watches heartbeats and data freshness, and records every event.
 *
 * Design, after OTP's `supervisor.erl`:
 * - Child specs are data (`child_spec.ts`), validated once. List order and `dependsOn` give start
 *   order; a child starts only after the children it depends on are ready. Stop runs in reverse.
 * - Strategies `one_for_one`, `one_for_all`, `rest_for_one`; restart types `permanent`,
 *   `transient`, `temporary`; intensity is a sliding window, backoff exponential with jitter and
 *   reset after a stable run (`restart_policy.ts`). Past its intensity a child goes to `failed`
 *   and is retried after a long cool-down; only a `critical` child that fails ends the process.
 * - Only the supervisor declares a child dead. Three detectors: the worker's error event (always
 *   `preventDefault()`, or Deno ends the whole process) or its `fatal` report; a missing
 *   heartbeat for `hangAfterMs` (a spinning worker, or one that closed itself: Deno sends no exit
 *   event); and stale data: newest data older than `freshness`.
 * - Stop = post `stop`, wait `shutdownMs` for `stopped`, then `terminate()`.
 * - A child with `database: { user }` gets that user's own login (`userDatabaseUrls`, provisioned
 *   at start by `lib/db_users.ts`) in `init` and network access to the database host(s), never the
 *   supervisor's URL; a spec naming a user without a login is a start-up error.
 * - A hung worker may not die on `terminate()`: its replacement is spawned at once, the zombie is
 *   recorded, and if a zombie thread still burns a core after a bound, `onEscalate` is called so
 *   the process can stop gracefully and exit non-zero (the heart restarts it).
 *
 * @example
 * ```ts ignore
 * const sup = new Supervisor(validateChildSpecs(specs), { node: "n1", events });
 * await sup.start();
 * await sup.stop();
 * ```
 *
 * @module
 */
import { type Clock, systemClock } from "../lib/clock.ts";
import { SupervisorError } from "../lib/errors.ts";
import { getLogger } from "../lib/log.ts";
import { moduleName } from "../lib/module_name.ts";
import { databaseHostPorts, POSTGRES_ENV } from "../lib/db.ts";
import { USER_POSTGRES_ENV } from "../lib/db_users.ts";
import { ActorMessage, type InitMessage } from "../schema/messages.ts";
import { type ChildSpec, databaseUser, type WorkerPermissions } from "./child_spec.ts";
import type { EventLog, SupervisorEvent } from "./event_log.ts";
import { isAlive, transition } from "./lifecycle.ts";
import {
  backoffDelay,
  type ExitKind,
  nextBackoffStep,
  recordRestart,
  shouldRestart,
} from "./restart_policy.ts";
import type { ChildStatus, LifecycleState, Readiness, SupervisorView } from "./types.ts";
import { hotThreads, workerThreadTicks } from "./zombie.ts";

/** Restart strategy, as in OTP. */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";

/** What the supervisor needs to create a worker (injectable for tests). */
export type WorkerFactory = (url: string, options: WorkerOptions) => Worker;

export interface SupervisorOptions {
  node: string;
  strategy?: Strategy;
  events: Pick<EventLog, "record" | "setStatus">;
  clock?: Clock;
  databaseUrl?: string;
  /**
   * Each user's own connection URL (secrets), for the children with `database: { user }`; they
   * never get `databaseUrl`.
   */
  userDatabaseUrls?: ReadonlyMap<string, string>;
  log?: InitMessage["log"];
  /** Restart times per child read back from the database. */
  restartHistory?: Map<string, number[]>;
  /** Watch interval for heartbeats, freshness and timers. */
  tickMs?: number;
  /** How long a zombie thread may burn CPU before `onEscalate`. */
  zombieCpuBoundMs?: number;
  /** A critical child failed. */
  onCriticalFailure?: (id: string, reason: string) => void;
  /** A zombie worker still burns CPU: the process should restart. */
  onEscalate?: (reason: string) => void;
  workerFactory?: WorkerFactory;
}

interface Child {
  spec: ChildSpec;
  state: LifecycleState;
  worker: Worker | undefined;
  incarnation: number;
  /** The supervisor wants it running (false after a manual stop or a finished transient). */
  wanted: boolean;
  restartHistory: number[];
  restarts: number;
  restartsByCause: Record<string, number>;
  backoffStep: number;
  startedAt: number | null;
  readyAt: number | null;
  lastHeartbeatAt: number | null;
  newestDataAt: number | null;
  handled: number;
  heapUsed: number | null;
  counters: Record<string, number>;
  details: Record<string, unknown>;
  reason: string | null;
  lastError: string | null;
  nextRestartAt: number | null;
  /** Why the next restart happens (for the restart event). */
  restartCause: string | null;
  stopWaiter: (() => void) | undefined;
  stale: boolean;
}

interface Zombie {
  id: string;
  incarnation: number;
  at: number;
}

const ALIVE_FOR_DEPENDENTS: readonly LifecycleState[] = ["running", "degraded"];

/** A supervisor of Web Worker actors. */
export class Supervisor implements SupervisorView {
  readonly node: string;
  readonly startedAt: number;
  #children: Child[];
  #byId = new Map<string, Child>();
  #opts: SupervisorOptions;
  #clock: Clock;
  #strategy: Strategy;
  #timer: ReturnType<typeof setInterval> | undefined;
  #zombies: Zombie[] = [];
  #zombieSample: { at: number; ticks: Map<string, number> } | undefined;
  #stopping = false;
  #escalated = false;
  #log = getLogger("supervisor");
  #createWorker: WorkerFactory;
  #nextCommandId = 1;

  constructor(specs: ChildSpec[], options: SupervisorOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    this.#strategy = options.strategy ?? "one_for_one";
    this.node = options.node;
    this.startedAt = this.#clock.now();
    this.#createWorker = options.workerFactory ?? ((url, o) => new Worker(url, o));
    for (const spec of specs) {
      const user = databaseUser(spec);
      if (user !== undefined && !options.userDatabaseUrls?.has(user)) {
        throw new SupervisorError(
          `Cannot start child "${spec.id}": no database login for ${user} (the supervisor ` +
            `provisions one per user at start)`,
        );
      }
      // The process's environment and files hold the supervisor's credentials.
      const wide = user === undefined
        ? []
        : (["env", "read", "run", "ffi"] as const).filter((k) =>
          spec.permissions[k] === true || spec.permissions[k] === "inherit"
        );
      if (wide.length > 0) {
        throw new SupervisorError(
          `Cannot start child "${spec.id}": a child with its user's own database login may not ` +
            `have unrestricted ${wide.join(", ")} permission (list what it needs)`,
        );
      }
    }
    this.#children = specs.map((spec) => ({
      spec,
      state: "stopped",
      worker: undefined,
      incarnation: 0,
      wanted: false,
      restartHistory: options.restartHistory?.get(spec.id) ?? [],
      restarts: options.restartHistory?.get(spec.id)?.length ?? 0,
      restartsByCause: {},
      backoffStep: 0,
      startedAt: null,
      readyAt: null,
      lastHeartbeatAt: null,
      newestDataAt: null,
      handled: 0,
      heapUsed: null,
      counters: {},
      details: {},
      reason: null,
      lastError: null,
      nextRestartAt: null,
      restartCause: null,
      stopWaiter: undefined,
      stale: false,
    }));
    for (const c of this.#children) this.#byId.set(c.spec.id, c);
  }

  /** Starts every child in dependency order; resolves once each has been spawned or is waiting. */
  start(): void {
    this.#stopping = false;
    for (const c of this.#children) {
      c.wanted = c.spec.autostart;
      this.#publish(c);
    }
    this.#startEligible();
    this.#timer ??= setInterval(() => this.#tick(), this.#opts.tickMs ?? 250);
  }

  /** Stops every child in reverse order and the watch timer. */
  async stop(reason = "supervisor stopping"): Promise<void> {
    this.#stopping = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const c of [...this.#children].reverse()) {
      c.wanted = false;
      await this.#stopChild(c, reason);
    }
  }

  // ---- SupervisorView -------------------------------------------------------------------------

  children(): ChildStatus[] {
    return this.#children.map((c) => this.#status(c));
  }

  child(id: string): ChildStatus | undefined {
    const c = this.#byId.get(id);
    return c ? this.#status(c) : undefined;
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    for (const c of this.#children) {
      if (!c.spec.critical) continue;
      if (c.state !== "running") reasons.push(`${c.spec.id} is ${c.state}`);
      else if (c.stale) reasons.push(`${c.spec.id} has stale data`);
    }
    const failed = this.#children.filter((c) => c.state === "failed").map((c) => c.spec.id);
    for (const id of failed) {
      if (!reasons.some((r) => r.startsWith(`${id} `))) reasons.push(`${id} is failed`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  zombies(): number {
    return this.#zombies.length;
  }

  async restartChild(id: string, reason: string): Promise<void> {
    const c = this.#get(id);
    c.wanted = true;
    await this.#stopChild(c, reason);
    this.#count(c, "manual");
    c.restartCause = reason;
    c.backoffStep = 0;
    this.#spawn(c);
  }

  async stopChild(id: string, reason: string): Promise<void> {
    const c = this.#get(id);
    c.wanted = false;
    await this.#stopChild(c, reason);
  }

  /**
   * Terminates a child's worker at once, as a crash (`POST /actors/:id/kill`, the demo's
   * `crash_actor` drill): it is restarted by its policy.
   */
  terminateChild(id: string, reason: string): void {
    const c = this.#get(id);
    if (!isAlive(c.state) || c.state === "stopping") {
      throw new SupervisorError(`Cannot terminate "${id}": it is ${c.state}`);
    }
    c.lastError = reason;
    this.#exited(c, c.incarnation, "crash", reason);
  }

  startChild(id: string, reason: string): Promise<void> {
    const c = this.#get(id);
    c.wanted = true;
    if (!isAlive(c.state)) {
      c.restartCause = reason;
      c.backoffStep = 0;
      this.#spawn(c);
    }
    return Promise.resolve();
  }

  /**
   * Sends a command to a running child and waits for its result (matched by a command id, so
   * concurrent commands of one name get their own answers).
   */
  command(id: string, name: string, payload?: unknown, timeoutMs = 5_000): Promise<unknown> {
    const c = this.#get(id);
    const w = c.worker;
    if (!w || !isAlive(c.state)) {
      return Promise.reject(new SupervisorError(`Cannot send "${name}" to "${id}": not running`));
    }
    const commandId = this.#nextCommandId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        w.removeEventListener("message", onMessage);
        reject(
          new SupervisorError(`Cannot send "${name}" to "${id}": no answer in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      const onMessage = (e: MessageEvent) => {
        const m = ActorMessage.safeParse(e.data);
        if (!m.success || m.data.type !== "command_result" || m.data.id !== commandId) return;
        clearTimeout(timer);
        w.removeEventListener("message", onMessage);
        if (m.data.ok) resolve(m.data.result);
        else reject(new SupervisorError(`Command "${name}" failed in "${id}": ${m.data.error}`));
      };
      w.addEventListener("message", onMessage);
      w.postMessage({ type: "command", id: commandId, name, payload });
    });
  }

  // ---- internals ------------------------------------------------------------------------------

  #get(id: string): Child {
    const c = this.#byId.get(id);
    if (!c) throw new SupervisorError(`Cannot find child "${id}": unknown child id`);
    return c;
  }

  #set(c: Child, to: LifecycleState, reason: string | null = null): void {
    if (c.state === to) return;
    c.state = transition(c.spec.id, c.state, to);
    c.reason = reason;
    this.#publish(c);
  }

  #event(c: Child | null, event: string, extra: Partial<SupervisorEvent> = {}): void {
    this.#opts.events.record({
      actorId: c?.spec.id ?? null,
      event,
      incarnation: c?.incarnation ?? null,
      restartCount: c?.restarts ?? null,
      uptimeMs: c?.startedAt ? this.#clock.now() - c.startedAt : null,
      ...extra,
    });
  }

  #publish(c: Child): void {
    this.#opts.events.setStatus({
      actorId: c.spec.id,
      state: c.state,
      incarnation: c.incarnation,
      restarts: c.restarts,
      lastHeartbeatAt: c.lastHeartbeatAt,
      newestDataAt: c.newestDataAt,
      stale: c.stale,
      reason: c.reason,
      details: { counters: c.counters, ...c.details },
    });
  }

  #depsReady(c: Child): boolean {
    return c.spec.dependsOn.every((d) => ALIVE_FOR_DEPENDENTS.includes(this.#get(d).state));
  }

  /** Spawns every wanted, stopped child whose dependencies are ready, in list order. */
  #startEligible(): void {
    if (this.#stopping) return;
    for (const c of this.#children) {
      if (c.wanted && c.state === "stopped" && this.#depsReady(c)) this.#spawn(c);
    }
  }

  #spawn(c: Child): void {
    if (this.#stopping) return;
    if (!this.#depsReady(c)) {
      // Wait for dependencies; #startEligible() starts it when they are ready.
      if (c.state === "backoff" || c.state === "failed") this.#set(c, "stopped", "waiting");
      return;
    }
    const now = this.#clock.now();
    c.incarnation++;
    c.startedAt = now;
    c.readyAt = null;
    // Hang detection starts with the first heartbeat; until then startTimeoutMs applies
    // (loading a worker's module graph can take seconds on a busy machine).
    c.lastHeartbeatAt = null;
    c.nextRestartAt = null;
    c.stale = false;
    c.handled = 0;
    c.counters = {};
    this.#set(c, "starting");
    if (c.incarnation > 1) {
      this.#event(c, "restart", { reason: c.restartCause });
    }
    this.#event(c, "start");
    const incarnation = c.incarnation;
    let worker: Worker;
    try {
      worker = this.#createWorker(c.spec.module, {
        type: "module",
        name: c.spec.id,
        deno: { permissions: this.#permissions(c.spec) as Deno.PermissionOptionsObject },
      } as WorkerOptions);
    } catch (error) {
      c.worker = undefined;
      queueMicrotask(() => this.#exited(c, incarnation, "crash", describe(error)));
      return;
    }
    c.worker = worker;
    worker.onmessage = (e) => this.#onMessage(c, incarnation, e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      const msg = e.message || "worker error";
      const where = e.filename ? ` (${e.filename}:${e.lineno})` : "";
      this.#exited(c, incarnation, "crash", `${msg}${where}`);
    };
    worker.onmessageerror = (e) => {
      e.preventDefault();
      this.#exited(c, incarnation, "crash", "message could not be deserialised");
    };
    const init: InitMessage = {
      type: "init",
      id: c.spec.id,
      incarnation,
      node: this.node,
      args: c.spec.args,
      heartbeatMs: c.spec.heartbeatMs,
      databaseUrl: this.#databaseUrl(c.spec),
      log: this.#opts.log ?? { format: "auto", level: "info" },
    };
    worker.postMessage(init);
  }

  /** The connection URL a child gets: its user's own, the supervisor's, or none. */
  #databaseUrl(spec: ChildSpec): string | undefined {
    const user = databaseUser(spec);
    if (user !== undefined) return this.#opts.userDatabaseUrls?.get(user);
    return spec.database ? this.#opts.databaseUrl : undefined;
  }

  /** The spec's permissions plus, for a child with database access, exactly that access. */
  #permissions(spec: ChildSpec): WorkerPermissions {
    const p = { ...spec.permissions };
    const url = this.#databaseUrl(spec);
    if (!url) return p;
    const add = (have: WorkerPermissions["net"], extra: readonly string[]) =>
      have === true || have === "inherit" ? have : [...(have || []), ...extra];
    p.net = add(p.net, databaseHostPorts(url));
    // A user's URL names everything: none of the identity variables (PGPASSWORD may be ours).
    p.env = add(p.env, databaseUser(spec) === undefined ? POSTGRES_ENV : USER_POSTGRES_ENV);
    return p;
  }

  #onMessage(c: Child, incarnation: number, data: unknown): void {
    if (c.incarnation !== incarnation) return; // a message from a previous incarnation
    const parsed = ActorMessage.safeParse(data);
    if (!parsed.success) {
      this.#exited(c, incarnation, "crash", `protocol violation: ${parsed.error.message}`);
      return;
    }
    const m = parsed.data;
    const now = this.#clock.now();
    switch (m.type) {
      case "ready":
        if (c.state !== "starting") return;
        c.readyAt = now;
        c.lastHeartbeatAt = now;
        this.#set(c, "running");
        this.#event(c, "ready", { uptimeMs: now - (c.startedAt ?? now) });
        this.#startEligible();
        break;
      case "heartbeat":
        c.lastHeartbeatAt = now;
        c.handled = m.progress.handled;
        c.heapUsed = m.progress.heapUsed;
        c.counters = m.progress.counters;
        c.details = m.progress.details ?? {};
        if (m.progress.newestDataAt !== null) {
          const was = c.stale;
          c.newestDataAt = m.progress.newestDataAt;
          if (was) c.stale = this.#isStale(c, now);
        }
        this.#publish(c);
        break;
      case "health":
        if (m.state === "degraded" && c.state === "running") {
          this.#set(c, "degraded", m.reason ?? "degraded");
          this.#event(c, "degraded", { reason: m.reason ?? null });
        } else if (m.state === "degraded" && c.state === "degraded") {
          // Still degraded, for a reason that may have moved on ("N rows buffered"): the status
          // shows the current one; the event marked only the transition.
          const reason = m.reason ?? "degraded";
          if (c.reason !== reason) {
            c.reason = reason;
            this.#publish(c);
          }
        } else if (m.state === "running" && c.state === "degraded") {
          this.#set(c, "running");
          this.#event(c, "recovered");
        }
        break;
      case "stopped":
        if (c.stopWaiter) c.stopWaiter();
        else this.#exited(c, incarnation, "normal", "finished");
        break;
      case "fatal":
        c.lastError = m.error.stack ?? `${m.error.name}: ${m.error.message}`;
        this.#exited(c, incarnation, "crash", `${m.error.name}: ${m.error.message}`);
        break;
      case "command_result":
        break; // handled by command()
    }
  }

  /** A child's worker ended (or must be ended) for `kind`; decide what happens next. */
  #exited(c: Child, incarnation: number, kind: ExitKind, reason: string): void {
    if (c.incarnation !== incarnation || !isAlive(c.state)) return;
    if (c.state === "stopping") {
      c.stopWaiter?.();
      return;
    }
    const now = this.#clock.now();
    const ranMs = now - (c.startedAt ?? now);
    c.worker?.terminate();
    c.worker = undefined;
    if (kind !== "normal") c.lastError ??= reason;
    this.#event(c, "exit", { reason: `${kind}: ${reason}`, uptimeMs: ranMs });
    this.#log.warn("Child {id} exited ({kind}): {reason}", { id: c.spec.id, kind, reason });

    if (this.#stopping || !shouldRestart(c.spec.restart, kind)) {
      if (c.spec.restart === "temporary" || kind === "normal") c.wanted = false;
      this.#set(c, "stopped", `${kind}: ${reason}`);
      return;
    }
    const r = recordRestart(c.restartHistory, now, c.spec.intensity);
    c.restartHistory = r.history;
    c.restarts++;
    this.#count(c, kind);
    if (r.exceeded) {
      this.#fail(c, `${kind}: ${reason}`);
      return;
    }
    c.backoffStep = nextBackoffStep(c.backoffStep, ranMs, c.spec.backoff);
    // A hung worker is replaced at once; other exits back off.
    const delay = kind === "hang" ? 0 : backoffDelay(c.backoffStep - 1, c.spec.backoff);
    c.restartCause = `${kind}: ${reason}`;
    this.#scheduleRestart(c, delay);
    this.#applyStrategy(c, `${c.spec.id} ${kind}`);
  }

  #scheduleRestart(c: Child, delayMs: number): void {
    c.nextRestartAt = this.#clock.now() + delayMs;
    this.#set(c, "backoff", c.restartCause);
    this.#event(c, "restart_scheduled", { reason: c.restartCause, details: { delayMs } });
    if (delayMs === 0) this.#spawn(c);
  }

  /** one_for_all / rest_for_one: stop the siblings in reverse order, restart them with `c`. */
  #applyStrategy(c: Child, why: string): void {
    if (this.#strategy === "one_for_one") return;
    const index = this.#children.indexOf(c);
    const siblings = this.#children.filter((s, i) =>
      s !== c && (this.#strategy === "one_for_all" || i > index)
    );
    const reason = `${this.#strategy}: ${why}`;
    void (async () => {
      for (const s of [...siblings].reverse()) {
        if (!s.wanted || !isAlive(s.state)) continue;
        await this.#stopChild(s, reason);
        s.restarts++;
        this.#count(s, "sibling");
        s.restartCause = reason;
      }
      // They start again once `c` is ready (dependency order is list order).
      this.#startEligible();
    })();
  }

  #fail(c: Child, reason: string): void {
    c.nextRestartAt = this.#clock.now() + c.spec.intensity.coolDownMs;
    this.#set(c, "failed", reason);
    this.#event(c, "failed", {
      reason:
        `intensity exceeded (${c.spec.intensity.maxRestarts} in ${c.spec.intensity.periodMs} ms): ${reason}`,
    });
    this.#log.error("Child {id} failed: restart intensity exceeded", { id: c.spec.id });
    if (c.spec.critical) this.#opts.onCriticalFailure?.(c.spec.id, reason);
  }

  #count(c: Child, cause: string): void {
    c.restartsByCause[cause] = (c.restartsByCause[cause] ?? 0) + 1;
  }

  /** Graceful stop: post `stop`, wait `shutdownMs` for `stopped`, then `terminate()`. */
  async #stopChild(c: Child, reason: string): Promise<void> {
    if (c.state === "backoff" || c.state === "failed") {
      this.#set(c, "stopped", reason);
      this.#event(c, "stopped", { reason });
      return;
    }
    if (!isAlive(c.state) || c.state === "stopping") return;
    const w = c.worker;
    this.#set(c, "stopping", reason);
    this.#event(c, "stop", { reason });
    let graceful = false;
    if (w) {
      graceful = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          c.stopWaiter = undefined;
          resolve(false);
        }, c.spec.shutdownMs);
        c.stopWaiter = () => {
          clearTimeout(timer);
          c.stopWaiter = undefined;
          resolve(true);
        };
        try {
          w.postMessage({ type: "stop", reason });
        } catch {
          c.stopWaiter();
        }
      });
      w.terminate();
    }
    c.worker = undefined;
    this.#set(c, "stopped", reason);
    this.#event(c, "stopped", {
      reason: graceful ? reason : `${reason} (terminated after ${c.spec.shutdownMs} ms)`,
    });
  }

  #isStale(c: Child, now: number): boolean {
    const f = c.spec.freshness;
    if (f === null || c.readyAt === null) return false;
    if (now - c.readyAt < c.spec.freshnessGraceMs) return false;
    // Data of a previous incarnation does not make a new one stale: count from its ready time.
    return now - Math.max(c.readyAt, c.newestDataAt ?? 0) > f;
  }

  #tick(): void {
    const now = this.#clock.now();
    for (const c of this.#children) {
      const inc = c.incarnation;
      if (c.state === "starting" || c.state === "running" || c.state === "degraded") {
        const silent = c.lastHeartbeatAt === null ? 0 : now - c.lastHeartbeatAt;
        if (c.state === "starting" && now - (c.startedAt ?? now) > c.spec.startTimeoutMs) {
          this.#hung(c, inc, `not ready after ${c.spec.startTimeoutMs} ms`, "start_timeout");
          continue;
        }
        if (silent > c.spec.hangAfterMs) {
          this.#hung(c, inc, `no heartbeat for ${silent} ms`, "hang");
          continue;
        }
        const stale = this.#isStale(c, now);
        if (stale && !c.stale) {
          c.stale = true;
          const lag = now - Math.max(c.readyAt ?? now, c.newestDataAt ?? 0);
          this.#event(c, "stale", {
            reason: `newest data ${lag} ms old (freshness ${c.spec.freshness} ms)`,
          });
          this.#exited(c, inc, "stale", `newest data ${lag} ms old`);
          continue;
        }
      }
      if (
        (c.state === "backoff" || c.state === "failed") && c.wanted && c.nextRestartAt !== null &&
        now >= c.nextRestartAt
      ) {
        if (c.state === "failed") {
          c.restartHistory = [];
          c.backoffStep = 0;
          c.restartCause = "cool-down over";
        }
        this.#spawn(c);
      }
    }
    this.#startEligible();
    this.#checkZombies(now);
  }

  #hung(c: Child, inc: number, reason: string, kind: ExitKind): void {
    this.#event(c, "hang", { reason });
    this.#zombies.push({ id: c.spec.id, incarnation: inc, at: this.#clock.now() });
    this.#event(c, "zombie", {
      reason: "terminated a hung worker; its thread may keep running",
    });
    this.#exited(c, inc, kind, reason);
  }

  /** Escalates when a terminated worker's thread still burns a core after the bound. */
  #checkZombies(now: number): void {
    if (this.#zombies.length === 0 || this.#escalated) return;
    const bound = this.#opts.zombieCpuBoundMs ?? 10_000;
    const oldest = this.#zombies[0]!.at;
    if (now - oldest < bound) return;
    const ticks = workerThreadTicks();
    const live = this.#children.filter((c) => c.worker !== undefined).length;
    const prev = this.#zombieSample;
    this.#zombieSample = { at: now, ticks };
    if (!prev || now - prev.at < 1_000) {
      if (prev) this.#zombieSample = prev;
      return;
    }
    const extra = ticks.size - live;
    // Half a core: a spinning thread on a loaded 2-core machine may get no more than that.
    const hot = hotThreads(prev.ticks, ticks, now - prev.at, 0.5);
    if (extra <= 0) {
      // Every zombie thread has ended: forget them.
      this.#zombies = [];
      this.#zombieSample = undefined;
      return;
    }
    if (hot.length > 0) {
      this.#escalated = true;
      const reason = `${extra} zombie worker thread(s) still running; ${hot.length} hot after ${
        now - oldest
      } ms`;
      this.#event(null, "escalate", { reason });
      this.#log.fatal("Escalating to a process restart: {reason}", { reason });
      this.#opts.onEscalate?.(reason);
    }
  }

  #status(c: Child): ChildStatus {
    const now = this.#clock.now();
    const newest = c.newestDataAt;
    return {
      id: c.spec.id,
      module: moduleName(c.spec.module),
      state: c.state,
      incarnation: c.incarnation,
      restarts: c.restarts,
      restartsInWindow: c.restartHistory.filter((t) => t > now - c.spec.intensity.periodMs)
        .length,
      critical: c.spec.critical,
      restart: c.spec.restart,
      dependsOn: c.spec.dependsOn,
      startedAt: c.startedAt,
      readyAt: c.readyAt,
      lastHeartbeatAt: c.lastHeartbeatAt,
      heartbeatAgeMs: isAlive(c.state) && c.lastHeartbeatAt !== null
        ? now - c.lastHeartbeatAt
        : null,
      newestDataAt: newest,
      freshnessMs: c.spec.freshness,
      freshnessLagMs: newest === null ? null : now - newest,
      stale: c.stale,
      handled: c.handled,
      heapUsed: c.heapUsed,
      counters: { ...c.counters },
      details: { ...c.details },
      reason: c.reason,
      lastError: c.lastError,
      nextRestartAt: c.nextRestartAt,
      restartsByCause: { ...c.restartsByCause },
    };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
