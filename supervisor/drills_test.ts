import assert from "node:assert/strict";
import { createDrills } from "./drills.ts";

Deno.test("createDrills() forwards venue drills, crashes actors, and refuses what it cannot do", async () => {
  const hits: string[] = [];
  await using venue = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    hits.push(new URL(req.url).pathname + new URL(req.url).search);
    return Response.json({ ok: true });
  });
  const crashed: string[] = [];
  const recorded: string[] = [];
  const drills = createDrills({
    controlUrl: `http://127.0.0.1:${venue.addr.port}`,
    crashChild: (id) => void crashed.push(id),
    record: (event, reason) => void recorded.push(`${event}: ${reason}`),
  });
  assert.deepEqual(await drills("kalshi_429", { seconds: "5" }), { ok: true });
  assert.deepEqual(hits, ["/drill/kalshi_429?seconds=5"]);
  await drills("silence_price_feed", { seconds: "100000" });
  assert.equal(hits[1], "/drill/silence_price_feed?seconds=300", "seconds are bounded");
  assert.deepEqual(await drills("crash_actor", { actor: "price_watchdog:btc" }), {
    drill: "crash_actor",
    actor: "price_watchdog:btc",
  });
  assert.deepEqual(crashed, ["price_watchdog:btc"]);
  await assert.rejects(drills("crash_actor", {}), /needs \?actor=/);
  await assert.rejects(drills("stop_database", {}), /needs the embedded database/);
  await assert.rejects(drills("reboot_moon", {}), /Unknown drill "reboot_moon"/);
  assert.ok(recorded[0]!.startsWith("drill: kalshi_429"));
});
