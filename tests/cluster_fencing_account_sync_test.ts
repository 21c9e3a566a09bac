/**
 * Fencing of `kalshi_account_sync` (cluster mode, `lib/fence.ts`), hosted by the real runtime with
 * a lease grant in its init and writing as the user's own role `user_0001_rw`, against a real
 * PostgreSQL and the fake Kalshi: the role may call `system.lease_fence`; a held grant writes;
 * after the lease moves the next sync commits nothing and is reported; two holders in sequence
 * store every row once; each store write is fenced on its own; a grant for a missing or expired
 * lease row is fenced from the start, and a new grant syncs in full. The other cold singletons:
 * `cluster_fencing_actors_test.ts`.
 */
import assert from "node:assert/strict";
import { systemClock } from "../lib/clock.ts";
import { createSql, type Sql } from "../lib/db.ts";
import { FENCED_SQLSTATE, FencedError, type LeaseGrant } from "../lib/fence.ts";
import { createAccountStore } from "../lib/kalshi/account_store.ts";
import { KalshiClient } from "../lib/kalshi/client.ts";
import { createSigner } from "../lib/kalshi/signer.ts";
import { Balance, Fill, MarketPosition, Order, Settlement } from "../lib/kalshi/schemas.ts";
import { createAccountSync, resolveArgs } from "../actors/kalshi_account_sync/mod.ts";
import { createTestDb, type TestDb } from "./_db.ts";
import { testUserLogins } from "./_db_users.ts";
import { eventually } from "./_eventually.ts";
import { fillJson, orderJson, positionJson, settlementJson } from "./_kalshi.ts";
import { grantLease, hostLeased, moveLease } from "./_leased_actor.ts";
import { FakeKalshi, generateTestKeys } from "./fakes/kalshi_server.ts";

const keys = await generateTestKeys();
const signer = await createSigner(keys.keyId, keys.pkcs1Pem);
const H = 3_600_000;
const isRefusal = (e: unknown) => (e as { code?: string }).code === FENCED_SQLSTATE;

async function count(sql: Sql, table: string): Promise<number> {
  const [r] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`;
  return r!.n;
}

const ACCOUNT = "kalshi_account_sync:user_0001";

/** The account sync of user_0001 on its own login, polling hourly (the test drives its syncs). */
function accountSync(userSql: Sql, fake: FakeKalshi, lease: LeaseGrant | null) {
  return hostLeased((ctx) =>
    createAccountSync(ctx, {
      settings: resolveArgs({ user: "user_0001", baseUrl: fake.baseUrl, pollMs: H }),
      client: new KalshiClient({ baseUrl: fake.baseUrl, signer, retry: { maxAttempts: 1 } }),
      store: createAccountStore(userSql, "user_0001", { lease: ctx.lease }),
    }), { id: ACCOUNT, lease, clock: systemClock });
}

async function userLogin(db: TestDb): Promise<Sql> {
  return createSql((await testUserLogins(db, ["user_0001"])).get("user_0001")!, { max: 2 });
}

/** Rows of each account table, and whether any natural key is stored twice. */
async function accountRows(sql: Sql) {
  const [r] = await sql<Record<string, number>[]>`select
    (select count(*)::int from user_0001.fills) as fills,
    (select count(distinct trade_id)::int from user_0001.fills) as fill_ids,
    (select count(*)::int from user_0001.orders) as orders,
    (select count(*)::int from user_0001.settlements) as settlements,
    (select count(distinct (ticker, settled_time))::int from user_0001.settlements) as settled,
    (select count(*)::int from user_0001.positions) as positions,
    (select count(*)::int from user_0001.account_balance) as balances`;
  return r!;
}

Deno.test("system.lease_fence is executable by a user's own role, which cannot read the leases", async () => {
  await using db = await createTestDb();
  const sql = await userLogin(db);
  try {
    const grant = await grantLease(db, ACCOUNT);
    const [me] = await sql<{ who: string; ok: boolean }[]>`
      select current_user as who, system.lease_fence(${grant.name}, ${grant.node}, ${grant.epoch}) as ok`;
    assert.deepEqual({ ...me }, { who: "user_0001_rw", ok: true });
    await assert.rejects(
      sql`select system.lease_fence(${grant.name}, ${grant.node}, ${grant.epoch + 1})`,
      isRefusal,
    );
    await assert.rejects(sql`select * from system.leases`, /permission denied/);
  } finally {
    await sql.end();
  }
});

Deno.test("kalshi_account_sync as the user's role writes under a held grant; after the lease moves, its next sync commits nothing and is reported", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.fills = [fillJson(1), fillJson(2)];
  fake.positions = [positionJson(1), positionJson(2)];
  fake.orders = [orderJson(1)];
  fake.settlements = [settlementJson(1)];
  const sql = await userLogin(db);
  const grant = await grantLease(db, ACCOUNT);
  const h = accountSync(sql, fake, grant);
  try {
    await h.ready();
    await eventually(() => h.counter("syncs.full") === 1);
    const held = await accountRows(db.sql);
    assert.deepEqual([held.fills, held.positions, held.orders, held.settlements], [2, 2, 1, 1]);

    await moveLease(db, ACCOUNT);
    fake.fills.unshift(fillJson(3));
    fake.positions = []; // written, this would delete both positions
    await assert.rejects(h.actor().sync(false), isRefusal);
    assert.deepEqual(await accountRows(db.sql), held, "nothing of the sync committed");
    await eventually(() => h.counter("writes.fenced") === 1);
    assert.deepEqual(h.fenced().map((m) => m.lease), [grant]);
    assert.equal(h.counter("errors.sync"), 0);

    // Stepped down: a sync is refused before it asks Kalshi anything.
    const calls = fake.calls.length;
    await assert.rejects(h.actor().sync(false), /does not hold the lease/);
    assert.equal(fake.calls.length, calls);
    assert.equal(h.counter("writes.fenced"), 1);
  } finally {
    await h.stop();
    await sql.end();
  }
});

Deno.test("kalshi_account_sync: two holders in sequence store every fill, order and settlement once", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.fills = Array.from({ length: 20 }, (_, i) => fillJson(i));
  fake.fills.splice(10, 0, fillJson(3)); // Kalshi's pages may overlap
  fake.orders = [orderJson(1), orderJson(2, "executed")];
  fake.settlements = [settlementJson(1), settlementJson(2)];
  fake.positions = [positionJson(1)];
  const sql = await userLogin(db);
  try {
    const a = accountSync(sql, fake, await grantLease(db, ACCOUNT, { node: "node-a" }));
    await a.ready();
    await eventually(() => a.counter("syncs.full") === 1);

    // node-b takes over; Kalshi moves on meanwhile; the old holder's next sync is refused.
    const b = await grantLease(db, ACCOUNT, { node: "node-b" });
    fake.fills.unshift(fillJson(20));
    fake.orders[0] = orderJson(1, "canceled");
    await assert.rejects(a.actor().sync(false), isRefusal);
    await a.stop();

    const second = accountSync(sql, fake, b);
    await using _ = second;
    await second.ready();
    await eventually(() => second.counter("syncs.full") === 1);
    await second.actor().sync(false);
    const r = await accountRows(db.sql);
    assert.deepEqual(
      [r.fills, r.fill_ids, r.orders, r.settlements, r.settled, r.positions],
      [21, 21, 2, 2, 2, 1],
    );
    const [o] = await db.sql<{ status: string }[]>`
      select status from user_0001.orders where order_id = 'order-1'`;
    assert.equal(o!.status, "canceled");
  } finally {
    await sql.end();
  }
});

Deno.test("kalshi_account_sync with a grant for a missing or an expired lease writes nothing, then syncs in full under a new grant", async () => {
  await using db = await createTestDb();
  await using fake = FakeKalshi.start(keys);
  fake.fills = [fillJson(1)];
  const sql = await userLogin(db);
  try {
    const expired = await grantLease(db, `${ACCOUNT}:expired`, { ttl: "-1 second" });
    for (const grant of [{ name: ACCOUNT, node: "node-a", epoch: 1 }, expired]) {
      const h = accountSync(sql, fake, grant);
      await using _ = h;
      await h.ready();
      await eventually(() => h.counter("writes.fenced") === 1);
      assert.deepEqual(h.fenced().map((m) => m.lease), [grant]);
      assert.equal((await accountRows(db.sql)).balances, 0);
      assert.equal(h.counter("syncs.full"), 0);
      if (grant === expired) continue;
      // Granted now: the sync wakes and reconciles under the new grant.
      h.setLease(await grantLease(db, ACCOUNT));
      await eventually(() => h.counter("syncs.full") === 1);
      assert.equal((await accountRows(db.sql)).fills, 1);
      await db.sql`delete from user_0001.fills`;
      await db.sql`delete from user_0001.account_balance`;
    }
  } finally {
    await sql.end();
  }
});

Deno.test("createAccountStore() with a lease fences each write on its own: a stale grant commits nothing, no grant sends nothing", async () => {
  await using db = await createTestDb();
  const sql = await userLogin(db);
  try {
    const grant = await grantLease(db, ACCOUNT);
    const lease: { current: LeaseGrant | null } = { current: grant };
    const store = createAccountStore(sql, "user_0001", { lease });
    const [fill, order, settlement, position] = [
      Fill.parse(fillJson(1)),
      Order.parse(orderJson(1)),
      Settlement.parse(settlementJson(1)),
      MarketPosition.parse(positionJson(1)),
    ];
    const balance = Balance.parse({ balance_dollars: "1.00", portfolio_value_dollars: "2.00" });
    const cursor = { cursor: null, lastTime: new Date(Date.UTC(2026, 0, 1)) };
    const writes: [string, () => Promise<unknown>][] = [
      ["balance", () => store.insertBalance(balance, cursor.lastTime)],
      ["positions", () => store.replacePositions([position!], cursor.lastTime)],
      ["orders", () => store.upsertOrders([order!])],
      ["fills", () => store.insertFills([fill!])],
      ["settlements", () => store.insertSettlements([settlement!])],
      ["cursor", () => store.setCursor("fills", cursor)],
      ["transaction", () => store.transaction((tx) => store.insertFills([fill!], tx))],
    ];
    for (const [, write] of writes) await write();
    const held = await accountRows(db.sql);
    assert.deepEqual([held.balances, held.positions, held.orders, held.fills], [1, 1, 1, 1]);

    await moveLease(db, ACCOUNT);
    for (const [what, write] of writes) await assert.rejects(write(), isRefusal, what);
    await assert.rejects(store.deleteCursor("fills"), isRefusal);
    await assert.rejects(store.replacePositions([], cursor.lastTime), isRefusal);
    assert.deepEqual(await accountRows(db.sql), held);
    assert.equal(await count(db.sql, "user_0001.sync_cursors"), 1);

    lease.current = null;
    for (const [what, write] of writes) await assert.rejects(write(), FencedError, what);
    // Without a lease (the historical ingest), nothing is checked.
    await createAccountStore(sql, "user_0001").deleteCursor("fills");
    assert.equal(await count(db.sql, "user_0001.sync_cursors"), 0);
  } finally {
    await sql.end();
  }
});
