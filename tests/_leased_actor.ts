/**
 * Test helpers of leased actors (cluster mode): lease rows written the way the lease manager
 * writes them (epochs from `system.lease_epoch`, expiry in database time), a takeover by another
 * node, and an actor hosted in-process by the real runtime (`hostActor`) with a grant in its
 * init, recording what it posts: its `fenced` reports and its heartbeat counters.
 *
 * @module
 */
import { type Actor, type ActorContext, hostActor, type Port } from "../actors/_runtime.ts";
import type { Clock } from "../lib/clock.ts";
import type { LeaseGrant } from "../lib/fence.ts";
import type { ActorMessage } from "../schema/messages.ts";
import { eventually } from "./_eventually.ts";
import type { TestDb } from "./_db.ts";

/** The node the hosted actors run on. */
export const NODE = "node-a";

/**
 * Grants lease `name` to `node` at a new epoch, lasting `ttl` (an interval; negative: already
 * expired) from the database's now.
 */
export async function grantLease(
  db: TestDb,
  name: string,
  options: { node?: string; ttl?: string } = {},
): Promise<LeaseGrant> {
  const node = options.node ?? NODE;
  const [row] = await db.sql<{ epoch: string }[]>`
    insert into system.leases (name, holder, epoch, acquired_at, renewed_at, expires_at)
    values (${name}, ${node}, nextval('system.lease_epoch'), now(), now(),
      now() + ${options.ttl ?? "1 hour"}::interval)
    on conflict (name) do update set holder = excluded.holder, epoch = excluded.epoch,
      acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at,
      expires_at = excluded.expires_at
    returning epoch::text`;
  return { name, node, epoch: Number(row!.epoch) };
}

/** Another node takes lease `name` (a new epoch), as a takeover after a pause would. */
export async function moveLease(db: TestDb, name: string): Promise<void> {
  await db.sql`update system.leases set holder = 'other', epoch = nextval('system.lease_epoch'),
    expires_at = now() + interval '10 s' where name = ${name}`;
}

/** An actor hosted in-process, and what it posted. */
export interface Hosted<A extends Actor> extends AsyncDisposable {
  actor(): A;
  posted: ActorMessage[];
  /** The `fenced` reports it posted. */
  fenced(): Extract<ActorMessage, { type: "fenced" }>[];
  /** Counter `name` of its latest heartbeat (0 when absent). */
  counter(name: string): number;
  /** Waits for `ready` (throws on `fatal`). */
  ready(): Promise<void>;
  /** What the supervisor sends when the lease is granted again or lost. */
  setLease(grant: LeaseGrant | null): void;
  stop(): Promise<void>;
}

/** Hosts the actor `factory` builds, with `lease` in its init (id = the grant's name). */
export function hostLeased<A extends Actor>(
  factory: (ctx: ActorContext) => A,
  options: { id: string; lease: LeaseGrant | null; clock?: Clock },
): Hosted<A> {
  const posted: ActorMessage[] = [];
  const port: Port = { postMessage: (m) => posted.push(structuredClone(m)), onmessage: null };
  let actor: A | undefined;
  hostActor(port, (ctx) => (actor = factory(ctx)), { clock: options.clock });
  const send = (data: unknown) => port.onmessage!(new MessageEvent("message", { data }));
  send({
    type: "init",
    id: options.id,
    incarnation: 1,
    node: NODE,
    args: {},
    heartbeatMs: 10,
    lease: options.lease,
    log: { format: "text", level: "fatal" },
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    send({ type: "stop", reason: "test over" });
    await eventually(() => posted.some((m) => m.type === "stopped"));
  };
  return {
    actor: () => actor!,
    posted,
    fenced: () => posted.filter((m) => m.type === "fenced"),
    counter(name) {
      const beat = posted.findLast((m) => m.type === "heartbeat");
      return beat?.type === "heartbeat" ? beat.progress.counters[name] ?? 0 : 0;
    },
    async ready() {
      await eventually(() => {
        const fatal = posted.find((m) => m.type === "fatal");
        if (fatal) throw new Error(`actor failed: ${JSON.stringify(fatal)}`);
        return posted.some((m) => m.type === "ready");
      });
    },
    setLease: (grant) => send({ type: "lease", lease: grant }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
