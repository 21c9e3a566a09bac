/**
 * Cluster mode end to end: real supervisor processes on one PostgreSQL database, each with its own
 * fake Coinbase whose prices tell the nodes apart (`_cluster.ts`). The price log must hold every
 * second the venues sent, each once, whoever wrote it: after a SIGKILL of the holder (the warm
 * standby writes what it already received), after a SIGSTOP past the lease (the paused holder
 * commits nothing once it lost the lease, then runs as a standby), after a SIGTERM (handover), and
 * after the holder is cut off from the database (it fences itself; it rejoins as a standby).
 * Cold singletons run exactly once among three nodes and move when their holder dies; a second
 * live node with the same name is refused (exit 2).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createTestDb, eventually, type TestDb } from "./_db.ts";
import { TcpProxy } from "./_proxy.ts";
import { readRows } from "./_price_watchdog.ts";
import { TEST_ACTOR } from "./_system.ts";
import {
  type ClusterNode,
  Market,
  missingSeconds,
  secondOf,
  startNode,
  writerOf,
} from "./_cluster.ts";

const FEED = "price_watchdog:btc";

interface ClusterView {
  node: string;
  nodes: { node: string; alive: boolean }[];
  leases: { name: string; holder: string | null; epoch: number }[];
}
interface ActorView {
  state: string;
  reason: string | null;
  counters: Record<string, number>;
  lease: { held: boolean; holder: string | null; epoch: number | null } | null;
}

const holderOf = async (n: ClusterNode, name = FEED) =>
  (await n.get<ClusterView>("/cluster")).leases.find((l) => l.name === name)?.holder ?? null;

/** Waits until `n` holds the feed's lease and its rows are being written. */
async function holding(db: TestDb, n: ClusterNode): Promise<void> {
  await eventually(async () => (await holderOf(n)) === n.name, {
    timeoutMs: 60_000,
    message: `${n.name} never held ${FEED}`,
  });
  await eventually(
    async () => (await readRows(db.sql)).some((r) => writerOf(r.price) === n.index),
    {
      timeoutMs: 30_000,
      message: `${n.name} wrote no row`,
    },
  );
}

/** Waits until `n` runs the feed as a standby (connected, not holding). */
async function standingBy(n: ClusterNode): Promise<void> {
  await eventually(async () => {
    const a = await n.get<ActorView>(`/actors/${FEED}`);
    return a.state === "running" && a.lease?.held === false && n.fake.subscribers() === 1;
  }, { timeoutMs: 60_000, message: `${n.name} is no standby` });
}

/** Node n1 holding the feed and n2 its warm standby, fed by one market; n1 may go through a proxy. */
async function holderAndStandby(db: TestDb, n1Url = db.url) {
  const nodes: ClusterNode[] = [];
  const market = new Market(() => nodes);
  const n1 = await startNode({ databaseUrl: n1Url, name: "n1", index: 1 });
  nodes.push(n1);
  await holding(db, n1);
  const n2 = await startNode({ databaseUrl: db.url, name: "n2", index: 2 });
  nodes.push(n2);
  await standingBy(n2);
  return {
    market,
    n1,
    n2,
    async [Symbol.asyncDispose]() {
      market.stop();
      await n2[Symbol.asyncDispose]();
      await n1[Symbol.asyncDispose]();
    },
  };
}

/** Waits until node `index` wrote rows for `seconds` more seconds, then stops the market. */
async function runOn(db: TestDb, market: Market, index: number, seconds: number): Promise<void> {
  let first: number | undefined;
  await eventually(async () => {
    const mine = (await readRows(db.sql)).filter((r) => writerOf(r.price) === index);
    if (mine.length === 0) return false;
    first ??= mine.at(-1)!.t;
    return mine.at(-1)!.t - first >= seconds * 1000;
  }, { timeoutMs: 60_000, message: `node ${index} did not keep writing` });
  market.stop();
}

/** Every second from the first row to the last the market sent before its final second. */
async function assertNoSecondLost(db: TestDb, market: Market): Promise<void> {
  const rows = await readRows(db.sql);
  const seconds = rows.map((r) => r.t);
  assert.equal(new Set(seconds).size, seconds.length, "a second written twice");
  // The seconds the venues sent after the first row, but the last one (possibly still open). A
  // second with no trade (the market's timer late by over a second on a loaded machine) has no row.
  const sent = [...new Set(market.sent.map(secondOf))].filter((t) => t >= seconds[0]!);
  const quiet = new Set(missingSeconds(sent));
  assert.deepEqual(
    missingSeconds(seconds).filter((t) => !quiet.has(t)),
    [],
    "seconds missing between the first and last row",
  );
  const have = new Set(seconds);
  const lost = sent.slice(0, -1).filter((t) => !have.has(t));
  assert.deepEqual(lost, [], "seconds the venues sent that no node wrote");
}

Deno.test("cluster - SIGKILL of the holder: the warm standby takes over and no second is lost or doubled", async () => {
  await using db = await createTestDb();
  await using pair = await holderAndStandby(db);
  const { market, n1, n2 } = pair;
  // Exactly one writer: both nodes see n1 as the holder.
  assert.equal(await holderOf(n2), "n1");
  n1.kill("SIGKILL");
  await n1.proc.child.status;
  await runOn(db, market, 2, 3);
  await assertNoSecondLost(db, market);
  const rows = await readRows(db.sql);
  const switchAt = rows.findIndex((r) => writerOf(r.price) === 2);
  assert.ok(switchAt > 0, "n1 wrote first");
  assert.ok(rows.slice(switchAt).every((r) => writerOf(r.price) === 2), "one switch, n1 -> n2");
  const cluster = await n2.get<ClusterView>("/cluster");
  assert.equal(cluster.leases.find((l) => l.name === FEED)?.holder, "n2");
  const [ev] = await db.sql<{ n: number }[]>`select count(*)::int as n
    from system.supervisor_events where node = 'n2' and event = 'lease_acquired'
      and actor_id = ${FEED} and epoch is not null`;
  assert.equal(ev!.n, 1);
});

Deno.test("cluster - a holder paused past its lease commits nothing after losing it, then runs as a standby", async () => {
  await using db = await createTestDb();
  await using pair = await holderAndStandby(db);
  const { market, n1, n2 } = pair;
  n1.kill("SIGSTOP");
  const stoppedAt = Date.now();
  // Three lease periods: n2 takes over meanwhile.
  await eventually(async () => (await holderOf(n2)) === "n2", {
    timeoutMs: 30_000,
    message: "n2 never took over",
  });
  await eventually(() => Date.now() - stoppedAt >= 9_000, { timeoutMs: 20_000 });
  n1.kill("SIGCONT");
  // n1 resumes with the frames queued while it was stopped: it must not commit any of them.
  await eventually(async () => {
    const a = await n1.get<ActorView>(`/actors/${FEED}`);
    return a.lease?.held === false && a.state === "running";
  }, { timeoutMs: 30_000, message: "n1 is no standby after SIGCONT" });
  await runOn(db, market, 2, 2);
  await assertNoSecondLost(db, market);
  const rows = await readRows(db.sql);
  const late = rows.filter((r) => writerOf(r.price) === 1 && r.t >= secondOf(stoppedAt) + 1000);
  assert.deepEqual(late.map((r) => new Date(r.t).toISOString()), [], "n1 wrote after its pause");
  assert.equal(await holderOf(n1), "n2");
});

Deno.test("cluster - SIGTERM hands the lease over with no missing second", async () => {
  await using db = await createTestDb();
  await using pair = await holderAndStandby(db);
  const { market, n1, n2 } = pair;
  assert.equal(await n1.stop(), 0);
  await runOn(db, market, 2, 2);
  await assertNoSecondLost(db, market);
  assert.equal(await holderOf(n2), "n2");
  const [released] = await db.sql<{ reason: string }[]>`select reason from system.supervisor_events
    where node = 'n1' and event = 'lease_released' and actor_id = ${FEED}`;
  assert.equal(released?.reason, "handed over to n2");
  // The next holder did not wait for an expiry: its first row follows n1's last within seconds.
  const rows = await readRows(db.sql);
  const i = rows.findIndex((r) => writerOf(r.price) === 2);
  assert.ok(rows[i]!.receivedAt - rows[i - 1]!.receivedAt < 2_500, "handover waited for expiry");
});

Deno.test("cluster - a holder cut off from the database fences itself, the other takes over, and it rejoins as a standby", async () => {
  await using db = await createTestDb();
  const p = await TcpProxy.forUrl(db.url);
  await using _proxy = p.proxy;
  await using pair = await holderAndStandby(db, p.url);
  const { market, n1, n2 } = pair;
  await p.proxy.down();
  await eventually(async () => (await holderOf(n2)) === "n2", {
    timeoutMs: 30_000,
    message: "n2 never took over",
  });
  await eventually(async () => (await n1.get<ActorView>(`/actors/${FEED}`)).lease?.held === false, {
    timeoutMs: 30_000,
    message: "n1 kept its grant without the database",
  });
  await p.proxy.up();
  await eventually(async () => (await holderOf(n1)) === "n2", {
    timeoutMs: 30_000,
    message: "n1 did not rejoin",
  });
  await runOn(db, market, 2, 2);
  await assertNoSecondLost(db, market);
  const a = await n1.get<ActorView>(`/actors/${FEED}`);
  assert.equal(a.lease?.held, false);
});

Deno.test("cluster - three nodes run a cold singleton exactly once; it moves when its holder dies; control requests elsewhere get 409", async () => {
  await using db = await createTestDb();
  const cold = () => [{
    id: "solo",
    module: TEST_ACTOR,
    args: { dataEveryMs: 200 },
    singleton: "cold",
    heartbeatMs: 200,
    database: false,
  }];
  const nodes: ClusterNode[] = [];
  using _market = new Market(() => nodes);
  for (const i of [1, 2, 3]) {
    nodes.push(await startNode({ databaseUrl: db.url, name: `n${i}`, index: i, children: cold }));
  }
  try {
    const running = async () => {
      const out: string[] = [];
      for (const n of nodes) {
        if (
          n.proc.child.pid &&
          (await n.get<ActorView>("/actors/solo").catch(() => null))?.state === "running"
        ) {
          out.push(n.name);
        }
      }
      return out;
    };
    await eventually(async () => (await running()).length === 1, { timeoutMs: 60_000 });
    const [first] = await running();
    const holder = nodes.find((n) => n.name === first)!;
    const other = nodes.find((n) => n !== holder)!;
    const standby = await other.get<ActorView>("/actors/solo");
    assert.equal(standby.state, "stopped");
    assert.match(standby.reason ?? "", new RegExp(`standby: lease held by ${first}`));
    const refused = await other.post("/actors/solo/restart");
    assert.equal(refused.status, 409);
    assert.match(JSON.stringify(refused.body), new RegExp(`node \\\\"${first}\\\\"`));
    holder.kill("SIGKILL");
    await holder.proc.child.status;
    nodes.splice(nodes.indexOf(holder), 1);
    await eventually(async () => {
      const r = await running();
      return r.length === 1 && r[0] !== first;
    }, { timeoutMs: 30_000, message: "the singleton did not move" });
  } finally {
    for (const n of nodes) await n[Symbol.asyncDispose]();
  }
});

Deno.test("cluster - a second live node with the same name is refused at start (exit 2)", async () => {
  await using db = await createTestDb();
  await using n1 = await startNode({ databaseUrl: db.url, name: "twin", index: 1 });
  await n1.url;
  await using n2 = await startNode({ databaseUrl: db.url, name: "twin", index: 2 });
  const status = await n2.proc.child.status;
  assert.equal(status.code, 2);
  await n2.proc.stop();
  assert.match(n2.proc.stderr(), /another live node of that name/);
});
