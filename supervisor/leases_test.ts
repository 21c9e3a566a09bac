/**
 * The lease manager and node registry against a real PostgreSQL: acquisition, renewal, takeover of
 * an expired lease under a new epoch, the fence refusing the stale holder, handover with NOTIFY,
 * the renew deadline through a cut connection, a node clock an hour off, a hand edit that lowers an
 * epoch, and duplicate node names. Expiry is made to happen by moving `expires_at` into the past
 * in the database (what the passing of time would do), not by waiting.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import type { ClusterTiming } from "../lib/cluster.ts";
import { createSql, type Sql } from "../lib/db.ts";
import { ConfigError } from "../lib/errors.ts";
import { fencedBegin, isFenced } from "../lib/fence.ts";
import { createTestDb, eventually } from "../tests/_db.ts";
import { TcpProxy } from "../tests/_proxy.ts";
import { type LeaseChange, LeaseManager, reconcile } from "./leases.ts";
import { registerNode } from "./nodes.ts";

const TIMING: ClusterTiming = {
  leaseMs: 3_000,
  renewEveryMs: 500,
  renewDeadlineMs: 2_000,
  acquireEveryMs: 500,
  nodeTtlMs: 5_000,
};
const NAMES = ["price_watchdog:btc", "strike_coordinator:btc"];

async function node(sql: Sql, name: string, clock = new ManualClock(Date.now())) {
  const instance = crypto.randomUUID();
  await registerNode(sql, {
    node: name,
    instance,
    pid: 1,
    candidates: NAMES,
    nodeTtlMs: TIMING.nodeTtlMs,
    clock,
  });
  const changes: LeaseChange[] = [];
  const lost: string[] = [];
  const m = new LeaseManager({
    sql,
    node: name,
    instance,
    wanted: NAMES,
    timing: TIMING,
    clock,
    onChange: (c) => changes.push(c),
    onNodeLost: (r) => lost.push(r),
  });
  return { m, changes, lost, clock, instance };
}

const expireAll = (sql: Sql) => sql`update system.leases set expires_at = now() - interval '1 s'`;

Deno.test("reconcile() - acquired, kept, taken and vanished leases", () => {
  const held = new Map([["a", { name: "a", node: "n1", epoch: 1 }], [
    "b",
    { name: "b", node: "n1", epoch: 2 },
  ], ["c", { name: "c", node: "n1", epoch: 3 }]]);
  const { held: next, changes } = reconcile("n1", held, [
    { name: "a", holder: "n1", epoch: 1, expiresAt: new Date(0) },
    { name: "b", holder: "n2", epoch: 7, expiresAt: new Date(0) },
    { name: "d", holder: "n1", epoch: 8, expiresAt: new Date(0) },
  ]);
  assert.deepEqual([...next.keys()], ["a", "d"]);
  assert.deepEqual(
    changes.map((c) => [c.name, c.kind, c.epoch, c.holder]),
    [["b", "lost", 2, "n2"], ["d", "acquired", 8, "n1"], ["c", "lost", 3, null]],
  );
});

Deno.test("leases - one node takes every lease at once; a second waits; expiry moves them under a new epoch and the fence refuses the old holder", async () => {
  await using db = await createTestDb();
  const a = await node(db.sql, "n1");
  const b = await node(db.sql, "n2");
  await a.m.cycle();
  assert.deepEqual(a.changes.map((c) => [c.name, c.kind]), NAMES.map((n) => [n, "acquired"]));
  await b.m.cycle();
  assert.equal(b.changes.length, 0);
  assert.equal(b.m.holder(NAMES[0]!), "n1");
  const old = a.m.grant(NAMES[0]!)!;
  // Renewal keeps the epoch.
  await a.m.cycle();
  assert.equal(a.m.grant(NAMES[0]!)?.epoch, old.epoch);

  await expireAll(db.sql);
  await b.m.cycle();
  const taken = b.m.grant(NAMES[0]!)!;
  assert.ok(taken.epoch > old.epoch, "a new epoch on every acquisition");
  await a.m.cycle();
  assert.deepEqual(
    a.changes.filter((c) => c.kind === "lost").map((c) => [c.name, c.holder, c.epoch]),
    NAMES.map((n) => [n, "n2", a.changes.find((x) => x.name === n)!.epoch]),
  );
  // The stale holder's write is refused by the database; the new holder's commits.
  await db.sql`create table fenced_probe (who text)`;
  const write = (g: typeof old) =>
    fencedBegin(db.sql, g, (tx) => tx`insert into fenced_probe values (${g.node})`);
  await assert.rejects(write(old), (e) => isFenced(e));
  await write(taken);
  assert.deepEqual([...await db.sql`select who from fenced_probe`], [{ who: "n2" }]);
  const [ev] = await db.sql`select count(*)::int as n from system.leases where holder = 'n2'`;
  assert.equal(ev!.n, NAMES.length);
});

Deno.test("leases - handover gives the lease to a live standby with a new epoch and wakes it by NOTIFY", async () => {
  await using db = await createTestDb();
  const a = await node(db.sql, "n1");
  const b = await node(db.sql, "n2");
  await a.m.cycle();
  await b.m.start();
  try {
    const before = a.m.grant(NAMES[0]!)!.epoch;
    assert.equal(await a.m.standbyFor(NAMES[0]!), "n2");
    assert.equal(await a.m.handOver(NAMES[0]!), "n2");
    assert.equal(a.m.grant(NAMES[0]!), undefined);
    // No timer runs on b's manual clock: only the notification can have woken it.
    await eventually(() => b.m.grant(NAMES[0]!) !== undefined, { message: "no takeover" });
    assert.ok(b.m.grant(NAMES[0]!)!.epoch > before);
    assert.ok(b.m.stats.notifies >= 1);
    // a keeps its other lease and does not take the handed one back.
    await a.m.cycle();
    assert.equal(a.m.grant(NAMES[0]!), undefined);
    assert.ok(a.m.grant(NAMES[1]!));
  } finally {
    await b.m.stop();
  }
});

Deno.test("leases - a holder cut off from the database drops its grants at the renew deadline, before the lease can expire", async () => {
  await using db = await createTestDb();
  const p = await TcpProxy.forUrl(db.url);
  await using _proxy = p.proxy;
  const sql = createSql(p.url, { max: 1, connectTimeout: 1 });
  try {
    const clock = new ManualClock(Date.now());
    const a = await node(sql, "n1", clock);
    await a.m.start();
    assert.equal(a.m.held().length, NAMES.length);
    await p.proxy.down();
    // Renewals fail (or hang) while the monotonic clock passes the deadline.
    for (let i = 0; i < 5; i++) {
      clock.advance(TIMING.renewEveryMs);
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.equal(a.m.held().length, 0);
    assert.deepEqual(
      a.changes.filter((c) => c.kind === "lost").map((c) => c.name).sort(),
      [...NAMES].sort(),
    );
    assert.match(a.changes.at(-1)!.reason, /no renewal for \d+ ms/);
    await a.m.stop();
  } finally {
    await sql.end({ timeout: 0 }).catch(() => {});
  }
});

Deno.test("leases - a node clock an hour off changes nothing: expiry is the database's", async () => {
  await using db = await createTestDb();
  const skewed = new ManualClock(Date.now() + 3_600_000);
  const a = await node(db.sql, "n1", skewed);
  const b = await node(db.sql, "n2", new ManualClock(Date.now() - 3_600_000));
  await a.m.cycle();
  const [row] = await db.sql<{ left: number }[]>`
    select extract(epoch from expires_at - now()) * 1000 as left from system.leases limit 1`;
  assert.ok(row!.left > 0 && row!.left <= TIMING.leaseMs, `expires in ${row!.left} ms`);
  await b.m.cycle();
  assert.equal(b.m.held().length, 0, "the lagging node sees a live lease");
  await expireAll(db.sql);
  await b.m.cycle();
  assert.equal(b.m.held().length, NAMES.length);
});

Deno.test("leases - a hand edit that lowers an epoch is refused; a deleted row is re-acquired under a higher epoch", async () => {
  await using db = await createTestDb();
  const a = await node(db.sql, "n1");
  await a.m.cycle();
  const epoch = a.m.grant(NAMES[0]!)!.epoch;
  await assert.rejects(
    db.sql`update system.leases set epoch = 0 where name = ${NAMES[0]!}`,
    /Cannot lower the epoch of lease "price_watchdog:btc"/,
  );
  await db.sql`delete from system.leases where name = ${NAMES[0]!}`;
  await a.m.cycle();
  assert.ok(a.m.grant(NAMES[0]!)!.epoch > epoch, "epochs come from a sequence, never reused");
  assert.match(a.changes.at(-1)!.reason, new RegExp(`re-acquired \\(epoch ${epoch} was lost\\)`));
});

Deno.test("nodes - a second live node of one name is refused; a dead predecessor's row is taken over", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(Date.now());
  const opts = { pid: 1, candidates: [], nodeTtlMs: 600, clock, pollMs: 50 };
  await registerNode(db.sql, { ...opts, node: "twin", instance: crypto.randomUUID() });
  // The first keeps heartbeating while the second watches its row.
  const beat = setInterval(
    // (postgres.js runs a query only once it is awaited or then()'d)
    () => db.sql`update system.cluster_nodes set last_seen_at = now() where node = 'twin'`.then(),
    50,
  );
  try {
    const watching = registerNode(db.sql, { ...opts, node: "twin", instance: crypto.randomUUID() });
    // The manual clock bounds the watch; advance it as the polls go by.
    const advancing = setInterval(() => clock.advance(50), 50);
    try {
      await assert.rejects(
        watching,
        (e) => e instanceof ConfigError && /another live node of that name/.test(e.message),
      );
    } finally {
      clearInterval(advancing);
    }
  } finally {
    clearInterval(beat);
  }
  // Not renewed any more: a new instance takes the name once it has watched the row for a TTL.
  const advancing = setInterval(() => clock.advance(50), 50);
  try {
    const instance = crypto.randomUUID();
    await registerNode(db.sql, { ...opts, node: "twin", instance });
    const [r] = await db.sql`select instance::text from system.cluster_nodes where node = 'twin'`;
    assert.equal(r!.instance, instance);
  } finally {
    clearInterval(advancing);
  }
  await assert.rejects(
    registerNode(db.sql, { ...opts, node: "bad name!", instance: crypto.randomUUID() }),
    /RECIO_NODE must be/,
  );
});

Deno.test("nodes - a fresh row of a process of this host that is gone is taken back at once", async () => {
  await using db = await createTestDb();
  const gone = new Deno.Command(Deno.execPath(), { args: ["eval", "1"] }).spawn();
  await gone.status;
  const instance = crypto.randomUUID();
  await db.sql`insert into system.cluster_nodes (node, instance, pid, host)
    values ('again', ${crypto.randomUUID()}::uuid, ${gone.pid}, ${Deno.hostname()})`;
  // A manual clock that never moves: watching the row would never end.
  await registerNode(db.sql, {
    node: "again",
    instance,
    pid: Deno.pid,
    candidates: [],
    nodeTtlMs: 60_000,
    clock: new ManualClock(Date.now()),
  });
  const [r] = await db.sql`select instance::text from system.cluster_nodes where node = 'again'`;
  assert.equal(r!.instance, instance);
});
