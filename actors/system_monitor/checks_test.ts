import assert from "node:assert/strict";
import { assess, type Measurements } from "./checks.ts";

const now = Date.UTC(2026, 10, 24, 12);
const base: Measurements = {
  database: { ok: true, latencyMs: 2 },
  actors: [{
    actor_id: "price_watchdog:btc",
    state: "running",
    stale: false,
    updated_at: new Date(now - 1_000),
    newest_data_at: new Date(now - 1_000),
  }],
  disk: { path: "/data", freeBytes: 50 * 1024 ** 3, totalBytes: 100 * 1024 ** 3 },
  memory: { rssBytes: 200 * 1024 ** 2 },
};

Deno.test("assess() is healthy when everything is fine", () => {
  assert.deepEqual(assess(base, now), { overall: "healthy", reasons: [] });
});

Deno.test("assess() is down when the database is unreachable", () => {
  const v = assess({ ...base, database: { ok: false, latencyMs: null, error: "refused" } }, now);
  assert.equal(v.overall, "down");
});

Deno.test("assess() degrades on a failed, degraded or stale actor, and ignores stopped ones", () => {
  const actor = base.actors[0]!;
  for (
    const a of [{ ...actor, state: "failed" }, { ...actor, state: "degraded" }, {
      ...actor,
      stale: true,
    }]
  ) {
    const v = assess({ ...base, actors: [a] }, now);
    assert.equal(v.overall, "degraded");
    assert.ok(v.reasons[0]?.startsWith("price_watchdog:btc"));
  }
  assert.equal(
    assess({ ...base, actors: [{ ...actor, state: "stopped" }] }, now).overall,
    "healthy",
  );
});

Deno.test("assess() degrades on low disk, high memory, slow database and silent status rows", () => {
  const cases: Partial<Measurements>[] = [
    { disk: { path: "/d", freeBytes: 100 * 1024 ** 2, totalBytes: 100 * 1024 ** 3 } },
    { disk: { path: "/d", error: "no such dir" } },
    { memory: { rssBytes: 8 * 1024 ** 3 } },
    { database: { ok: true, latencyMs: 2_000 } },
    { actors: [{ ...base.actors[0]!, updated_at: new Date(now - 600_000) }] },
  ];
  for (const c of cases) assert.equal(assess({ ...base, ...c }, now).overall, "degraded");
});
