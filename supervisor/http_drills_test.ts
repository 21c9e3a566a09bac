import assert from "node:assert/strict";
import { createSql } from "../lib/db.ts";
import { SupervisorError } from "../lib/errors.ts";
import { fixedView } from "../tests/_view.ts";
import { createStatusApp } from "./http.ts";
import { type DrillRunner, forwardDrills } from "./http_drills.ts";
import type { ChildStatus } from "./types.ts";

const TOKEN = "status-token-0123456789";

/** Never queried by these routes: a pool on a port nothing listens on. */
function unusedSql() {
  return createSql("postgres://postgres:x@127.0.0.1:9/none", { max: 1, connectTimeout: 1 });
}

Deno.test("forwardDrills() relays the drill server's answer and the caller's token; a silent server is a 503", async () => {
  const seen: string[] = [];
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    seen.push(`${url.pathname}${url.search} ${req.headers.get("authorization")}`);
    if (url.pathname.endsWith("/stop_database")) {
      return Response.json({ detail: 'drill "kalshi_429" is still running' }, { status: 409 });
    }
    if (url.pathname.endsWith("/broken")) return new Response("oops", { status: 500 });
    return Response.json({ drill: "drop_price_feed" }, { status: 202 });
  });
  const drills = forwardDrills(`http://127.0.0.1:${server.addr.port}`);
  assert.deepEqual(await drills("drop_price_feed", {}, "Bearer abc"), {
    status: 202,
    body: { drill: "drop_price_feed" },
  });
  assert.deepEqual(await drills("stop_database", { seconds: "8" }, undefined), {
    status: 409,
    detail: 'drill "kalshi_429" is still running',
  });
  assert.equal((await drills("broken", {}, undefined)).status, 503);
  assert.deepEqual(seen.slice(0, 2), [
    "/drills/drop_price_feed Bearer abc",
    "/drills/stop_database?seconds=8 null",
  ]);
  const silent = forwardDrills("http://127.0.0.1:9");
  assert.equal((await silent("drop_price_feed", {}, undefined)).status, 503);
});

Deno.test("createStatusApp() - /drills/:name answers the runner's problems as problems; /actors/:id/kill terminates as a crash", async () => {
  const terminated: string[] = [];
  const child = { id: "price_watchdog:btc", state: "running" } as ChildStatus;
  const view = {
    ...fixedView("n1", [child]),
    terminateChild: (id: string, reason: string) => {
      if (id !== child.id) throw new SupervisorError(`Cannot terminate "${id}"`);
      terminated.push(`${id}: ${reason}`);
    },
  };
  const headers: (string | undefined)[] = [];
  const drills: DrillRunner = (name, _params, authorization) => {
    headers.push(authorization);
    return Promise.resolve(
      name === "stop_database"
        ? { status: 409, detail: 'drill "stop_database" is still running' }
        : { status: 202, body: { drill: name } },
    );
  };
  const sql = unusedSql();
  try {
    const app = createStatusApp({ view, sql, token: TOKEN, drills });
    const post = (path: string, token: string | null = TOKEN) =>
      app.request(path, {
        method: "POST",
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });

    const anonymous = await post("/drills/drop_price_feed", null);
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const ok = await post("/drills/drop_price_feed");
    assert.equal(ok.status, 202);
    assert.deepEqual(await ok.json(), { drill: "drop_price_feed" });
    const busy = await post("/drills/stop_database?seconds=2");
    assert.equal(busy.status, 409);
    assert.equal(busy.headers.get("content-type"), "application/problem+json");
    assert.equal((await busy.json()).detail, 'drill "stop_database" is still running');
    assert.deepEqual(headers, [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);

    const noKill = await post("/actors/price_watchdog:btc/kill", null);
    assert.equal(noKill.status, 401);
    await noKill.body?.cancel();
    const killed = await post("/actors/price_watchdog:btc/kill");
    assert.equal(killed.status, 202);
    await killed.body?.cancel();
    assert.deepEqual(terminated, ["price_watchdog:btc: killed via API"]);
    const unknown = await post("/actors/nope/kill");
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();

    // Without drills (not demo mode): 404.
    const live = createStatusApp({ view: fixedView("n1"), sql, token: TOKEN });
    const none = await live.request("/drills/drop_price_feed", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(none.status, 404);
    await none.body?.cancel();
  } finally {
    await sql.end({ timeout: 1 });
  }
});
