import assert from "node:assert/strict";
import { getLogger } from "../log.ts";
import { type Condition, HealthReporter, healthTransition } from "./health.ts";

const auth: Condition = { key: "auth", reason: "kalshi authentication refused (401)" };
const limited: Condition = { key: "rate_limited", reason: "kalshi rate limited (HTTP 429)" };
const down = (why: string): Condition => ({
  key: "unreachable",
  reason: `kalshi unreachable: ${why}`,
});

Deno.test("healthTransition() reports a problem when it starts and recovery when it ends", () => {
  assert.deepEqual(healthTransition(null, limited), {
    next: limited,
    change: { type: "degraded", reason: limited.reason, from: null },
  });
  assert.deepEqual(healthTransition(limited, null), {
    next: null,
    change: { type: "recovered", from: limited },
  });
  assert.deepEqual(healthTransition(null, null), { next: null, change: null });
});

Deno.test("healthTransition() reports nothing for the same problem again, whatever its text", () => {
  const first = down("HTTP 503 (2 attempts)");
  assert.deepEqual(healthTransition(first, down("network error")), { next: first, change: null });
  assert.deepEqual(healthTransition(auth, auth), { next: auth, change: null });
});

Deno.test("healthTransition() reports a change of kind as a new degraded transition", () => {
  const first = down("network error");
  assert.deepEqual(healthTransition(first, limited), {
    next: limited,
    change: { type: "degraded", reason: limited.reason, from: first },
  });
});

Deno.test("healthTransition() keeps the health when an attempt told nothing (undefined)", () => {
  assert.deepEqual(healthTransition(auth, undefined), { next: auth, change: null });
  assert.deepEqual(healthTransition(null, undefined), { next: null, change: null });
});

Deno.test("HealthReporter.observe() reports each transition once over a run of 401s, 429s and feed errors", () => {
  const reported: string[] = [];
  const reporter = new HealthReporter({
    degraded: (reason) => reported.push(`degraded:${reason}`),
    recovered: () => reported.push("running"),
    log: getLogger("test", "health"),
  });
  const run: (Condition | null | undefined)[] = [
    null,
    auth,
    auth,
    auth,
    undefined,
    null,
    null,
    limited,
    limited,
    down("HTTP 503"),
    down("network error"),
    undefined,
    null,
  ];
  const changes = run.map((c) => reporter.observe(c)?.type ?? "-");
  assert.deepEqual(changes, [
    "-",
    "degraded",
    "-",
    "-",
    "-",
    "recovered",
    "-",
    "degraded",
    "-",
    "degraded",
    "-",
    "-",
    "recovered",
  ]);
  assert.deepEqual(reported, [
    `degraded:${auth.reason}`,
    "running",
    `degraded:${limited.reason}`,
    "degraded:kalshi unreachable: HTTP 503",
    "running",
  ]);
  assert.equal(reporter.current, null);
});
