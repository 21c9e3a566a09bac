/**
 * A real database failover under live ingest (issue 15): a primary with a synchronous streaming
 * standby (`_pg_cluster.ts`), the price store writing through a multi-host URL with
 * `target_session_attrs=primary`, the primary stopped the hard way and the standby promoted.
 * Writes resume on the new primary, every enqueued row is there exactly once, and the leases and
 * epochs written before are there after. Ignored (saying why) only where the PostgreSQL server
 * tools are missing; CI's machine has them.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { PriceRow } from "../actors/price_watchdog/store.ts";
import { createSql, type Sql } from "../lib/db.ts";
import { fencedBegin, isFenced, type LeaseGrant } from "../lib/fence.ts";
import { sleep } from "../lib/sleep.ts";
import { migrate } from "../schema/migrate.ts";
import { eventually } from "./_eventually.ts";
import { NO_PG_SERVER_TOOLS, type PgCluster, startPgCluster } from "./_pg_cluster.ts";
import { readRows, testStore } from "./_price_watchdog.ts";

if (NO_PG_SERVER_TOOLS) console.warn(`Database failover tests are ignored: ${NO_PG_SERVER_TOOLS}`);
const ignore = NO_PG_SERVER_TOOLS !== undefined;
const needs = ignore ? ` (ignored: ${NO_PG_SERVER_TOOLS})` : " (needs the PostgreSQL server tools)";

/** Second `i` of the test's price log, at a fixed date (never the wall clock). */
const BASE = Date.UTC(2026, 5, 1);
function row(i: number): PriceRow {
  const secondMs = BASE + i * 1_000;
  return {
    secondMs,
    price: `${60_000 + i}.25`,
    receivedMs: secondMs + 100,
    momentum: null,
    deltas: [null, null, null, null, null, null],
  };
}

/** Enqueues one row every `everyMs` until stopped; `count` is how many so far. */
function producer(enqueue: (r: PriceRow) => void, everyMs: number) {
  let count = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      enqueue(row(count++));
      await sleep(everyMs);
    }
  })();
  return {
    get count() {
      return count;
    },
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** A lease held by node-a and a node row, written on the primary before the failover. */
async function writeLease(sql: Sql): Promise<LeaseGrant> {
  const [lease] = await sql<{ epoch: string }[]>`
    insert into system.leases (name, holder, epoch, acquired_at, renewed_at, expires_at)
    values ('price_watchdog:btc', 'node-a', nextval('system.lease_epoch'), now(), now(),
      now() + interval '1 hour')
    returning epoch::text`;
  await sql`insert into system.cluster_nodes (node, instance, pid)
    values ('node-a', ${crypto.randomUUID()}, ${Deno.pid})`;
  return { name: "price_watchdog:btc", node: "node-a", epoch: Number(lease!.epoch) };
}

/** Checks the new primary: it is the promoted standby, and the lease survived with its epoch. */
async function checkAfter(cluster: PgCluster, sql: Sql, grant: LeaseGrant): Promise<void> {
  const [where] = await sql<{ port: number; recovery: boolean }[]>`
    select inet_server_port() as port, pg_is_in_recovery() as recovery`;
  assert.deepEqual(where, { port: cluster.standbyPort, recovery: false });
  const leases = await sql<{ name: string; holder: string; epoch: string }[]>`
    select name, holder, epoch::text from system.leases`;
  assert.deepEqual([...leases], [{
    name: grant.name,
    holder: "node-a",
    epoch: String(grant.epoch),
  }]);
  const [node] = await sql<{ node: string }[]>`select node from system.cluster_nodes`;
  assert.equal(node?.node, "node-a");
  // Epochs never go back: the sequence continues above the grant written before.
  const [next] = await sql<{ epoch: string }[]>`select nextval('system.lease_epoch')::text epoch`;
  assert.ok(Number(next!.epoch) > grant.epoch, `epoch ${next!.epoch} after ${grant.epoch}`);
  // The grant still fences on the new primary: held, it writes; stale, it is refused.
  const ok = await fencedBegin(sql, grant, (tx) => tx`select 1 as one`);
  assert.equal(ok.length, 1);
  await assert.rejects(
    fencedBegin(sql, { ...grant, epoch: grant.epoch - 1 }, (tx) => tx`select 1`),
    (e) => isFenced(e),
  );
}

Deno.test({
  name:
    `createPriceStore() on a multi-host URL writes every row exactly once across a failover to the promoted standby${needs}`,
  ignore,
  fn: async () => {
    await using cluster = await startPgCluster();
    const sql = createSql(cluster.url(), { max: 2, connectTimeout: 2 });
    const probe = createSql(cluster.url(), { max: 1, connectTimeout: 2 });
    try {
      await migrate(sql);
      const grant = await writeLease(sql);
      const counters: Record<string, number> = {};
      const durable = new Set<number>();
      const store = testStore(sql, counters, {
        maxBatch: 50,
        bufferRows: 20_000,
        flushMs: 50,
        onDurable: (rows) => rows.forEach((r) => durable.add(r.secondMs)),
        // The worker's COPY pool, on the same multi-host URL.
        bulk: () => createSql(cluster.url(), { max: 1, noDelay: true, connectTimeout: 2 }),
        bulkCoolDownMs: 0,
      });
      store.start();
      const feed = producer((r) => store.enqueue(r), 4);
      try {
        await eventually(() => durable.size >= 100, { message: "no rows before the failover" });
        await cluster.stopPrimary();
        const stoppedAt = feed.count;
        // With no primary, a query fails (bounded by connectTimeout) naming why for each host.
        await assert.rejects(probe`select 1`, (e: Error & { code?: string }) => {
          assert.equal(e.code, "08001", e.message);
          assert.match(
            e.message,
            new RegExp(`127\\.0\\.0\\.1:${cluster.standbyPort} is a standby`),
          );
          return true;
        });
        await eventually(() => (counters["db.write_failed"] ?? 0) >= 1, {
          message: "the store never saw the outage",
        });
        assert.ok(feed.count > stoppedAt, "rows kept arriving during the outage");
        await cluster.promote();
        const promotedAt = feed.count;
        await eventually(() => durable.has(row(promotedAt + 50).secondMs), {
          message: "writes did not resume on the new primary",
        });
        // A backlog on the new primary, in one burst: the first write after the promotion may
        // have taken the whole outage's backlog without COPY (its COPY meeting the old session),
        // this one goes through a fresh bulk pool.
        await feed.stop();
        for (let i = feed.count; i < feed.count + 500; i++) store.enqueue(row(i));
        assert.equal(await store.drain(15_000), true, "the burst was written");
      } finally {
        await feed.stop();
        await store.close(15_000);
      }
      const total = feed.count + 500;
      assert.equal(store.pending, 0);
      assert.equal(counters["rows.dropped"] ?? 0, 0);
      assert.ok((counters["rows.copied"] ?? 0) > 0, "the backlog drained through COPY");
      const rows = await readRows(sql);
      assert.equal(rows.length, total, "every enqueued row, exactly once");
      rows.forEach((r, i) => {
        assert.equal(r.t, row(i).secondMs);
        assert.equal(Number(r.price), Number(row(i).price));
      });
      await checkAfter(cluster, sql, grant);
    } finally {
      await probe.end({ timeout: 1 });
      await sql.end({ timeout: 1 });
    }
  },
});
