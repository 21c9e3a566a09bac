import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { createTestDb } from "../tests/_db.ts";
import { childStatus, fixedView } from "../tests/_view.ts";
import { createStatusApp } from "./http.ts";
import {
  type DbPing,
  STATUS_MAX_AGE_MS,
  type StatusDocDeps,
  StatusDocument,
} from "./status_doc.ts";
import type { ChildStatus } from "./types.ts";

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

function child(id: string, over: Partial<ChildStatus> = {}): ChildStatus {
  return childStatus(id, T0, {
    critical: true,
    newestDataAt: null,
    freshnessMs: null,
    freshnessLagMs: null,
    handled: 1,
    heapUsed: null,
    counters: { "rejected.bad_frame": 1 },
    ...over,
  });
}

/** A document over one child, with a database that answers as `db` says, counting its calls. */
function setup(
  db: { ping: DbPing | Error | (() => Promise<DbPing>) } = {
    ping: { reachable: true, latencyMs: 0.5 },
  },
) {
  const clock = new ManualClock(T0);
  const kids = [child("price_watchdog:btc")];
  const view = fixedView("n1", kids, T0 - 10_000);
  const calls = { ping: 0, health: 0, cluster: 0, jobs: 0 };
  const httpRejected: Record<string, number> = {};
  const deps: StatusDocDeps = {
    view,
    clock,
    version: "1.2.3",
    ping: () => {
      calls.ping++;
      if (typeof db.ping === "function") return db.ping();
      return db.ping instanceof Error ? Promise.reject(db.ping) : Promise.resolve(db.ping);
    },
    health: () => (calls.health++, Promise.resolve({ overall_status: "healthy" })),
    cluster: () => (calls.cluster++, Promise.resolve({ node: "n1", nodes: [], leases: [] })),
    jobs: () => (calls.jobs++, [{ name: "backup" }]),
    httpRejected,
  };
  const doc = new StatusDocument(deps);
  const read = async () => JSON.parse(new TextDecoder().decode(await doc.bytes()));
  return { doc, read, clock, kids, calls, httpRejected };
}

Deno.test("StatusDocument - every field of /status, as of the instant it was built", async () => {
  const { read, clock } = setup();
  clock.advance(5_000);
  const body = await read();
  assert.deepEqual(Object.keys(body), [
    "node",
    "version",
    "now",
    "uptimeMs",
    "readiness",
    "database",
    "zombies",
    "rejectedInputs",
    "health",
    "jobs",
    "cluster",
    "actors",
  ]);
  assert.equal(body.now, new Date(T0 + 5_000).toISOString());
  assert.equal(body.uptimeMs, 15_000);
  assert.deepEqual(body.readiness, { ready: true, reasons: [] });
  assert.deepEqual(body.database, { reachable: true, latencyMs: 0.5 });
  assert.deepEqual(body.health, { overall_status: "healthy" });
  assert.deepEqual(body.jobs, [{ name: "backup" }]);
  assert.deepEqual(body.cluster, { node: "n1", nodes: [], leases: [] });
  assert.equal(body.rejectedInputs.total, 1);
  assert.equal(body.actors[0].id, "price_watchdog:btc");
});

Deno.test("StatusDocument - a child's state change shows within STATUS_MAX_AGE_MS, not per request", async () => {
  const { doc, read, clock, kids, calls } = setup();
  assert.equal((await read()).actors[0].state, "running");
  kids[0]!.state = "backoff";
  clock.advance(STATUS_MAX_AGE_MS - 1);
  const cached = await read();
  assert.equal(cached.actors[0].state, "running", "served from the document built before");
  assert.equal(doc.builds, 1);
  clock.advance(1);
  assert.equal((await read()).actors[0].state, "backoff");
  assert.equal(doc.builds, 2);
  assert.deepEqual(calls, { ping: 2, health: 2, cluster: 2, jobs: 2 });
});

Deno.test("StatusDocument - concurrent requests share one build; a cached answer is the same bytes", async () => {
  const { doc, calls } = setup();
  const all = await Promise.all(Array.from({ length: 20 }, () => doc.bytes()));
  assert.equal(doc.builds, 1);
  assert.equal(calls.ping, 1);
  assert.ok(all.every((b) => b === all[0]));
  assert.equal(doc.bytes(), all[0], "a fresh document is answered without waiting");
});

Deno.test("StatusDocument - invalidate() rebuilds at once, also when it comes during a build", async () => {
  const pings: ((p: DbPing) => void)[] = [];
  const db = {
    ping: () => new Promise<DbPing>((resolve) => pings.push(resolve)),
  };
  const { doc, httpRejected } = setup(db);
  const first = doc.bytes(); // waits for its ping
  httpRejected.bad_query = 3;
  doc.invalidate();
  const second = doc.bytes();
  assert.equal(pings.length, 2, "a build started before the change is not joined");
  pings[1]!({ reachable: true, latencyMs: 1 });
  const fresh = await second;
  pings[0]!({ reachable: true, latencyMs: 2 });
  await first;
  assert.equal(doc.builds, 2);
  assert.equal(doc.bytes(), fresh, "the build that began earlier does not replace the newer one");
  const body = JSON.parse(new TextDecoder().decode(fresh));
  assert.equal(body.rejectedInputs.byActor.http, 3);
  assert.equal(body.database.latencyMs, 1);
});

Deno.test("StatusDocument - database down: no health or cluster query, the reason in readiness", async () => {
  const { read, calls } = setup({ ping: { reachable: false, latencyMs: null } });
  const body = await read();
  assert.deepEqual(body.database, { reachable: false, latencyMs: null });
  assert.deepEqual(body.readiness, { ready: false, reasons: ["database unreachable"] });
  assert.equal(body.health, null);
  assert.equal("cluster" in body, false);
  assert.equal(calls.health + calls.cluster, 0);
});

Deno.test("StatusDocument - a failed build fails its requests and the next request builds again", async () => {
  const db: { ping: DbPing | Error } = { ping: new Error("pool closed") };
  const { doc, read } = setup(db);
  await assert.rejects(read(), /pool closed/);
  db.ping = { reachable: true, latencyMs: 1 };
  assert.equal((await read()).database.reachable, true);
  assert.equal(doc.builds, 1);
});

Deno.test("GET /status - a fake clock's child state change within the bound; control requests at once", async () => {
  await using db = await createTestDb();
  const clock = new ManualClock(T0);
  const kids = [child("system_monitor"), child("strike_coordinator:btc", { critical: false })];
  const view = fixedView("n1", kids, T0 - 10_000);
  const restarts: string[] = [];
  view.restartChild = (id) => {
    restarts.push(id);
    kids.find((c) => c.id === id)!.incarnation++;
    return Promise.resolve();
  };
  const app = createStatusApp({ view, sql: db.sql, clock, token: "t0ken" });
  const status = async () => {
    const res = await app.request("/status");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    return await res.json();
  };
  assert.equal((await status()).actors[0].state, "running");
  kids[0]!.state = "failed";
  clock.advance(STATUS_MAX_AGE_MS - 1);
  assert.equal((await status()).actors[0].state, "running");
  clock.advance(1);
  const changed = await status();
  assert.equal(changed.actors[0].state, "failed");
  assert.deepEqual(changed.readiness.reasons, []);
  assert.equal(changed.now, new Date(T0 + STATUS_MAX_AGE_MS).toISOString());

  const res = await app.request("/actors/strike_coordinator:btc/restart", {
    method: "POST",
    headers: { authorization: "Bearer t0ken" },
  });
  assert.equal(res.status, 202);
  assert.deepEqual(restarts, ["strike_coordinator:btc"]);
  assert.equal((await status()).actors[1].incarnation, 2, "no wait for the bound");

  assert.equal((await app.request("/events?limit=0")).status, 400);
  assert.deepEqual((await status()).rejectedInputs.byActor, {
    system_monitor: 1,
    "strike_coordinator:btc": 1,
    http: 1,
  });
});
