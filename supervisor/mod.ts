/**
 * The supervisor: starts Web Worker actors from validated child specs in dependency order,
 * restarts them by policy, watches heartbeats and data freshness, and records every event.
 *
 * Design, after OTP's `supervisor.erl`. This class holds the child records and applies decisions
 * made by pure modules to workers, events and status rows:
 * - `child_spec.ts`: specs are data, validated once; list order and `dependsOn` give start order
 *   (a child starts once those it depends on are ready); stop runs in reverse.
 * - `restart_policy.ts` `decide()` (OTP `restart/2` + `add_restart`): what follows an exit, by
 *   restart type (`permanent`, `transient`, `temporary`), a sliding intensity window and a
 *   backoff with jitter reset by a stable run; past its intensity a child is `failed` and retried
 *   after a long cool-down (only a `critical` one ends the process). `strategySiblings()`:
 *   `one_for_one`, `one_for_all`, `rest_for_one`.
 * - Only the supervisor declares a child dead: the worker's error event (always
 *   `preventDefault()`, or Deno ends the process) or its `fatal` report (`protocol.ts`), and the
 *   `detectors.ts` run by a watch timer every `tickMs`: no heartbeat for `hangAfterMs` (a spinning
 *   worker, or one that closed itself: Deno sends no event), no `ready` in `startTimeoutMs`, data
 *   older than `freshness`; they also say when a backoff or cool-down is over.
 * - `worker_link.ts`: stop = post `stop`, wait `shutdownMs` for `stopped`, then `terminate()`;
 *   `spawn.ts`: permissions and the database login a worker gets (a `database: { user }` child
 *   gets its user's own, never the supervisor's URL).
 * - `zombie.ts`: a hung worker may survive `terminate()`; it is replaced at once, and if a zombie
 *   thread still burns a core after a bound, `onEscalate` lets the process exit non-zero (the
 *   heart restarts it). `status.ts`: what `/status` and `/readyz` show. `commands.ts`: commands
 *   matched to answers by id.
 * - Every timer (the watch, a stop's wait, a command's answer) is on the clock seam: the whole
 *   supervisor runs on `ManualClock` in tests (`mod_test.ts`, with fake workers).
 * - Cluster mode: `singletons.ts` (where a singleton may run, its grant in `init`) and
 *   `singleton_control.ts` (lease changes, the 409 of a child held elsewhere, handovers).
 *
 * Why this file is longer than the house's ~400 lines: it is the one place that changes child
 * records and applies effects (spawn, stop, events, status), in an order that matters; every
 * decision comes from the modules above, and splitting the effects would hide their order.
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
import { type Child, newChild, nextIncarnation, readyForDependents } from "./_child.ts";
import type { ChildSpec } from "./child_spec.ts";
import { CommandSender } from "./commands.ts";
import { type Detection, tick } from "./detectors.ts";
import type { SupervisorEvent } from "./event_log.ts";
import { isAlive, transition } from "./lifecycle.ts";
import { receive } from "./protocol.ts";
import { decide, type ExitKind, type Strategy, strategySiblings } from "./restart_policy.ts";
import {
  checkDatabaseAccess,
  childDatabaseUrl,
  defaultWorkerFactory,
  initMessage,
  type WorkerFactory,
} from "./spawn.ts";
import type { LeaseChange } from "./leases.ts";
import { SingletonControl } from "./singleton_control.ts";
import { initLease, leaseView, mayRunHere } from "./singletons.ts";
import { childStatus, readiness, statusRow } from "./status.ts";
import type {
  ChildStatus,
  LifecycleState,
  Readiness,
  SupervisorOptions,
  SupervisorView,
} from "./types.ts";
import { describe, openWorker, stopWorker } from "./worker_link.ts";
import { ZombieWatch } from "./zombie.ts";

export type { Strategy } from "./restart_policy.ts";
export type { WorkerFactory } from "./spawn.ts";
export type { SupervisorOptions } from "./types.ts";

/** A supervisor of Web Worker actors. */
export class Supervisor implements SupervisorView {
  readonly node: string;
  readonly startedAt: number;
  #children: Child[];
  #byId = new Map<string, Child>();
  #opts: SupervisorOptions;
  #clock: Clock;
  #strategy: Strategy;
  #cancelWatch: (() => void) | undefined;
  #zombies: ZombieWatch;
  #commands: CommandSender;
  #stopping = false;
  #log = getLogger("supervisor");
  #createWorker: WorkerFactory;
  #singletons: SingletonControl | undefined;

  constructor(specs: ChildSpec[], options: SupervisorOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    this.#strategy = options.strategy ?? "one_for_one";
    this.node = options.node;
    this.startedAt = this.#clock.now();
    this.#createWorker = options.workerFactory ?? defaultWorkerFactory;
    this.#commands = new CommandSender(this.#clock);
    this.#zombies = new ZombieWatch({
      boundMs: options.zombieCpuBoundMs,
      readTicks: options.readThreadTicks,
    });
    for (const spec of specs) checkDatabaseAccess(spec, options);
    this.#children = specs.map((spec) => newChild(spec, options.restartHistory?.get(spec.id)));
    for (const c of this.#children) this.#byId.set(c.spec.id, c);
    if (options.leases) {
      this.#singletons = new SingletonControl({
        leases: options.leases,
        child: (id) => this.#byId.get(id),
        stopChild: (c, reason) => this.#stopChild(c, reason),
        event: (c, event, extra) => this.#event(c, event, extra),
        publish: (c) => this.#publish(c),
        startEligible: () => this.#startEligible(),
        command: (id, name, payload, ms) => this.command(id, name, payload, ms),
        warn: (message, properties) => this.#log.warn(message, properties),
      });
    }
  }

  /** Starts every child in dependency order; resolves once each has been spawned or is waiting. */
  start(): void {
    this.#stopping = false;
    for (const c of this.#children) {
      c.wanted = c.spec.autostart;
      this.#standby(c);
      this.#publish(c);
    }
    this.#startEligible();
    if (this.#cancelWatch === undefined) this.#watch();
  }

  /**
   * Stops every child in reverse order and the watch timer. In cluster mode the leases this node
   * holds are handed to live standbys first (`handover`), so the cluster keeps running.
   */
  async stop(reason = "supervisor stopping"): Promise<void> {
    if (!this.#stopping) await this.#singletons?.handOverAll(this.#children, reason);
    this.#stopping = true;
    this.#cancelWatch?.();
    this.#cancelWatch = undefined;
    for (const c of [...this.#children].reverse()) {
      c.wanted = false;
      await this.#stopChild(c, reason);
    }
  }

  // ---- SupervisorView -------------------------------------------------------------------------

  children(): ChildStatus[] {
    const now = this.#clock.now();
    return this.#children.map((c) => childStatus(c, now));
  }

  child(id: string): ChildStatus | undefined {
    const c = this.#byId.get(id);
    return c ? childStatus(c, this.#clock.now()) : undefined;
  }

  readiness(): Readiness {
    return readiness(this.#children);
  }

  zombies(): number {
    return this.#zombies.count;
  }

  async restartChild(id: string, reason: string): Promise<void> {
    const c = this.#get(id);
    c.wanted = true;
    await this.#stopChild(c, reason);
    this.#count(c, "manual");
    c.restartCause = reason;
    c.backoffStep = 0;
    c.startArgs = {}; // a restart by hand is a start of its own (a job opens its own run)
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

  startChild(id: string, reason: string, extraArgs?: Record<string, unknown>): Promise<void> {
    const c = this.#get(id);
    c.wanted = true;
    if (!isAlive(c.state)) {
      // A job's run id: in the init args of this start and of the restarts that resume it.
      c.startArgs = extraArgs ?? {};
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
    return this.#commands.send(w, id, { name, payload, timeoutMs });
  }

  // ---- cluster mode (singleton_control.ts) --------------------------------------------------

  /** The lease manager acquired or lost a lease of this node. */
  leaseChanged(change: LeaseChange): void {
    this.#singletons?.changed(change);
  }

  /** The holder of a singleton's lease when it is another node (for a 409), else null. */
  heldElsewhere(id: string): string | null {
    const c = this.#get(id);
    return this.#singletons?.heldElsewhere(c) ?? null;
  }

  /** Hands a singleton's lease to a live standby (`POST /actors/:id/handover`). */
  handover(id: string): Promise<string> {
    const c = this.#get(id);
    if (!this.#singletons) {
      return Promise.reject(new SupervisorError(`Cannot hand over "${id}": no cluster`));
    }
    return this.#singletons.handover(c);
  }

  #standby(c: Child): void {
    this.#singletons?.standby(c);
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
    c.lease = leaseView(c, this.#opts.leases);
    this.#opts.events.setStatus(statusRow(c));
  }

  #count(c: Child, cause: string): void {
    c.restartsByCause[cause] = (c.restartsByCause[cause] ?? 0) + 1;
  }

  #depsReady(c: Child): boolean {
    return c.spec.dependsOn.every((d) => readyForDependents(this.#get(d).state));
  }

  /** Spawns every wanted, stopped child whose dependencies are ready, in list order. */
  #startEligible(): void {
    if (this.#stopping) return;
    for (const c of this.#children) {
      if (
        c.wanted && c.state === "stopped" && this.#depsReady(c) && mayRunHere(c, this.#opts.leases)
      ) {
        this.#spawn(c);
      }
    }
  }

  #spawn(c: Child): void {
    if (this.#stopping) return;
    if (!this.#depsReady(c)) {
      // Wait for dependencies; #startEligible() starts it when they are ready.
      if (c.state === "backoff" || c.state === "failed") this.#set(c, "stopped", "waiting");
      return;
    }
    if (!mayRunHere(c, this.#opts.leases)) {
      // A cold singleton whose lease is elsewhere: it starts when this node acquires it.
      if (c.state === "backoff" || c.state === "failed") this.#set(c, "stopped");
      this.#standby(c);
      this.#publish(c);
      return;
    }
    nextIncarnation(c, this.#clock.now());
    this.#set(c, "starting");
    if (c.incarnation > 1) this.#event(c, "restart", { reason: c.restartCause });
    this.#event(c, "start");
    const incarnation = c.incarnation;
    const databaseUrl = childDatabaseUrl(c.spec, this.#opts);
    try {
      c.worker = openWorker(this.#createWorker, c.spec, databaseUrl, {
        message: (data) => this.#onMessage(c, incarnation, data),
        crash: (reason) => this.#exited(c, incarnation, "crash", reason),
      });
    } catch (error) {
      c.worker = undefined;
      queueMicrotask(() => this.#exited(c, incarnation, "crash", describe(error)));
      return;
    }
    c.worker.postMessage(
      initMessage(
        { ...c.spec, args: { ...c.spec.args, ...c.startArgs } },
        { incarnation, node: this.node, databaseUrl, lease: initLease(c, this.#opts.leases) },
        this.#opts.log,
      ),
    );
  }

  #onMessage(c: Child, incarnation: number, data: unknown): void {
    if (c.incarnation !== incarnation) return; // a message from a previous incarnation
    const r = receive(c, data, this.#clock.now());
    switch (r.kind) {
      case "publish":
        this.#publish(c);
        break;
      case "move":
        this.#set(c, r.to, r.reason);
        this.#event(c, r.event.event, r.event);
        if (r.startDependents) this.#startEligible();
        break;
      case "stopped":
        if (c.stopWaiter) c.stopWaiter();
        else this.#exited(c, incarnation, "normal", "finished");
        break;
      case "exit":
        this.#exited(c, incarnation, r.exit, r.reason);
        break;
      case "fenced":
        // The database refused a write under a stale grant: the actor stepped down. A cold one
        // stops; the lease manager's next cycle says who holds the lease now.
        this.#event(c, "fenced", { reason: r.error, epoch: r.lease.epoch });
        if (c.spec.singleton === "cold") void this.#stopChild(c, "fenced");
        void this.#opts.leases?.cycle();
        break;
    }
  }

  /** A child's worker ended (or must be ended) for `kind`: apply `decide()` to it. */
  #exited(c: Child, incarnation: number, kind: ExitKind, reason: string): void {
    if (c.incarnation !== incarnation || !isAlive(c.state)) return;
    if (c.state === "stopping") {
      c.stopWaiter?.();
      return;
    }
    const now = this.#clock.now();
    c.worker?.terminate();
    c.worker = undefined;
    if (kind !== "normal") c.lastError ??= reason;
    const d = decide(c, { kind, reason }, now, { supervisorStopping: this.#stopping });
    const [exit, ...after] = d.events;
    this.#event(c, exit.event, exit);
    this.#log.warn("Child {id} exited ({kind}): {reason}", { id: c.spec.id, kind, reason });
    c.restartHistory = d.restartHistory;
    c.restarts = d.restarts;
    c.backoffStep = d.backoffStep;
    if (d.counted !== null) this.#count(c, d.counted);
    if (!d.wanted) c.wanted = false;
    if (d.cause !== null) c.restartCause = d.cause;
    c.nextRestartAt = d.restartAt;
    this.#set(c, d.state, d.reason);
    for (const e of after) this.#event(c, e.event, e);
    if (d.state === "failed") {
      this.#log.error("Child {id} failed: restart intensity exceeded", { id: c.spec.id });
      if (d.critical) this.#opts.onCriticalFailure?.(c.spec.id, d.reason);
    } else if (d.state === "backoff") {
      if (d.delayMs === 0) this.#spawn(c);
      this.#applyStrategy(c, `${c.spec.id} ${kind}`);
    }
  }

  /** one_for_all / rest_for_one: stop the siblings in reverse order, restart them with `c`. */
  #applyStrategy(c: Child, why: string): void {
    if (this.#strategy === "one_for_one") return;
    const index = this.#children.indexOf(c);
    const siblings = strategySiblings(this.#strategy, this.#children.length, index)
      .map((i) => this.#children[i]!);
    const reason = `${this.#strategy}: ${why}`;
    void (async () => {
      for (const s of siblings.reverse()) {
        if (!s.wanted || !isAlive(s.state)) continue;
        await this.#stopChild(s, reason);
        s.restarts++;
        this.#count(s, "sibling");
        s.restartCause = reason;
      }
      // They start again now, or, those that depend on `c`, once it is ready (mod_test.ts).
      this.#startEligible();
    })();
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
    const graceful = w ? await stopWorker(w, c, reason, this.#clock) : false;
    c.worker = undefined;
    this.#set(c, "stopped", reason);
    this.#event(c, "stopped", {
      reason: graceful ? reason : `${reason} (terminated after ${c.spec.shutdownMs} ms)`,
    });
  }

  /** The watch timer: runs the detectors every `tickMs` (set again first, so a throw keeps it). */
  #watch(): void {
    this.#cancelWatch = this.#clock.setTimer(() => {
      this.#watch();
      this.#tick();
    }, this.#opts.tickMs ?? 250);
  }

  #tick(): void {
    const now = this.#clock.now();
    for (const a of tick(this.#children, now)) {
      const c = this.#children[a.index]!;
      // An earlier action (a strategy stopping siblings) may have moved this child on.
      if (c.incarnation === a.incarnation && c.state === a.state) this.#act(c, a.detection, now);
    }
    this.#startEligible();
    const escalate = this.#zombies.check(
      now,
      () => this.#children.filter((c) => c.worker !== undefined).length,
    );
    if (escalate !== undefined) {
      this.#event(null, "escalate", { reason: escalate });
      this.#log.fatal("Escalating to a process restart: {reason}", { reason: escalate });
      this.#opts.onEscalate?.(escalate);
    }
  }

  #act(c: Child, d: Detection, now: number): void {
    const inc = c.incarnation;
    switch (d.kind) {
      case "hang":
      case "start_timeout":
        this.#event(c, "hang", { reason: d.reason });
        this.#zombies.add(c.spec.id, inc, now);
        this.#event(c, "zombie", {
          reason: "terminated a hung worker; its thread may keep running",
        });
        this.#exited(c, inc, d.kind, d.reason);
        break;
      case "stale":
        c.stale = true;
        this.#event(c, "stale", { reason: d.eventReason });
        this.#exited(c, inc, "stale", d.reason);
        break;
      case "restart":
        if (d.afterCoolDown) {
          c.restartHistory = [];
          c.backoffStep = 0;
          c.restartCause = "cool-down over";
        }
        this.#spawn(c);
        break;
    }
  }
}
