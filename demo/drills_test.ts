import assert from "node:assert/strict";
import { createSql } from "../lib/db.ts";
import { embeddedLayout, OutageRefused, startEmbeddedDb } from "../lib/embedded_db/mod.ts";
import { eventually } from "../tests/_eventually.ts";
import { exists } from "../tests/_process.ts";
import { createDrills, type DrillDeps } from "./drills.ts";

const TOKEN = "drill-token-0123456789";

/** A drill server over `deps`, with what it recorded and a POST helper. */
function drillServer(deps: Partial<DrillDeps> = {}) {
  const recorded: string[] = [];
  const terminated: string[] = [];
  const drills = createDrills({
    venueUrl: "http://127.0.0.1:9",
    terminate: (actor) => Promise.resolve(void terminated.push(actor)),
    record: (event, reason) => void recorded.push(`${event}: ${reason}`),
    token: TOKEN,
    ...deps,
  });
  const post = async (path: string, token: string | null = TOKEN) => {
    const r = await drills.app.request(`/drills/${path}`, {
      method: "POST",
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: r.status, type: r.headers.get("content-type"), body: await r.json() };
  };
  return { drills, post, recorded, terminated, [Symbol.dispose]: () => drills.close() };
}

Deno.test("createDrills() forwards venue drills, terminates actors, and refuses bad requests with problems", async () => {
  const hits: string[] = [];
  const auth: (string | null)[] = [];
  await using venue = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    hits.push(url.pathname + url.search);
    auth.push(req.headers.get("authorization"));
    return Response.json({ ok: true });
  });
  using s = drillServer({
    venueUrl: `http://127.0.0.1:${venue.addr.port}`,
    venueToken: "venue-token-0123456789",
  });

  assert.equal((await s.post("drop_price_feed", null)).status, 401);
  assert.equal((await s.post("drop_price_feed", "wrong-token-0123456789")).status, 401);
  assert.deepEqual(await s.post("drop_price_feed"), {
    status: 202,
    type: "application/json",
    body: { ok: true },
  });
  const unknown = await s.post("reboot_moon");
  assert.equal(unknown.status, 404);
  assert.equal(unknown.type, "application/problem+json");
  assert.match(unknown.body.detail, /unknown drill "reboot_moon"/);
  for (const bad of ["abc", "0", "301", "1.5"]) {
    const r = await s.post(`silence_price_feed?seconds=${bad}`);
    assert.equal(r.status, 400, `seconds=${bad}`);
    assert.match(r.body.detail, /"seconds"/);
  }
  assert.equal((await s.post("crash_actor")).status, 400, "crash_actor needs ?actor=");
  assert.deepEqual((await s.post("crash_actor?actor=price_watchdog:btc")).body, {
    drill: "crash_actor",
    actor: "price_watchdog:btc",
  });
  assert.deepEqual(s.terminated, ["price_watchdog:btc"]);
  const noDb = await s.post("stop_database?seconds=2");
  assert.equal(noDb.status, 409);
  assert.match(noDb.body.detail, /needs the embedded database/);
  assert.deepEqual(hits, ["/drill/drop_price_feed?seconds=10"], "refused drills reach nothing");

  // A timed venue drill holds for its seconds; another drill meanwhile is a 409 problem.
  assert.equal((await s.post("kalshi_429?seconds=1")).status, 202);
  const busy = await s.post("drop_price_feed");
  assert.equal(busy.status, 409);
  assert.equal(busy.type, "application/problem+json");
  assert.match(busy.body.detail, /drill "kalshi_429" is still running/);
  await eventually(async () => (await s.post("drop_price_feed")).status === 202);
  assert.deepEqual(hits.slice(1), [
    "/drill/kalshi_429?seconds=1",
    "/drill/drop_price_feed?seconds=10",
  ]);
  assert.ok(s.recorded[0]!.startsWith("drill: drop_price_feed"));
  assert.ok(
    auth.every((a) => a === "Bearer venue-token-0123456789"),
    "every call to the simulated venues carries its token",
  );
});

Deno.test("createDrills() runs one stop_database at a time: an overlapping one is a 409 and the first ends as planned", async () => {
  const outages: { ms: number; done: PromiseWithResolvers<void> }[] = [];
  using s = drillServer({
    outage: (ms) => {
      const done = Promise.withResolvers<void>();
      outages.push({ ms, done });
      return done.promise;
    },
  });
  assert.equal((await s.post("stop_database?seconds=8")).status, 202);
  const second = await s.post("stop_database?seconds=2");
  assert.equal(second.status, 409);
  assert.equal(second.type, "application/problem+json");
  assert.match(second.body.detail, /drill "stop_database" is still running \(about \d+ s left\)/);
  assert.equal((await s.post("kalshi_401?seconds=2")).status, 409, "no other drill either");
  assert.deepEqual(outages.map((o) => o.ms), [8_000], "the second never reached the database");

  outages[0]!.done.resolve();
  await eventually(() => s.recorded.some((r) => r.startsWith("drill_done: stop_database")));
  assert.equal(s.drills.running(), undefined);
  // A failed outage is recorded and frees the drills too.
  assert.equal((await s.post("stop_database?seconds=1")).status, 202);
  outages[1]!.done.reject(new Error("pg_ctl: could not start server"));
  await eventually(() => s.drills.running() === undefined);
  assert.ok(s.recorded.some((r) => r.startsWith("drill_failed: stop_database")));
});

Deno.test({
  name:
    "createDrills() with the embedded database: overlapping stop_database drills leave it up, and a stop cuts an outage short",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const parent = await Deno.makeTempDir({ prefix: "recio-drills-" });
    await Deno.chmod(parent, 0o755); // the postgres OS user must reach the data directory
    const db = await startEmbeddedDb({ dir: `${parent}/pg` });
    const sql = createSql(db.url, { max: 1 });
    try {
      using s = drillServer({ outage: (ms) => db.outage(ms) });
      // The sequence, shortened: a long outage, then a short one while it runs.
      assert.equal((await s.post("stop_database?seconds=3")).status, 202);
      assert.equal((await s.post("stop_database?seconds=1")).status, 409);
      // The database refuses a second outage on its own too.
      await assert.rejects(db.outage(1_000), OutageRefused);
      await eventually(() => s.recorded.some((r) => r.startsWith("drill_done")), {
        timeoutMs: 30_000,
      });
      const [row] = await sql`select 1 as up`;
      assert.equal(row!.up, 1);
      assert.equal(s.drills.running(), undefined);

      // Stopping the database during an outage ends it for good, without waiting it out.
      const long = db.outage(600_000).catch((e) => e);
      const t0 = performance.now();
      await db.stop();
      assert.ok(performance.now() - t0 < 30_000, "stop did not wait for the outage");
      assert.equal(await long, undefined);
      assert.equal(exists(embeddedLayout(db.dir).pidFile), false, "no server came back after stop");
      await assert.rejects(db.outage(1_000), OutageRefused);
    } finally {
      await sql.end({ timeout: 1 });
      await db.stop();
      await Deno.remove(parent, { recursive: true }).catch(() => {});
    }
  },
});
