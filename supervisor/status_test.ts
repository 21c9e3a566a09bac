import assert from "node:assert/strict";
import { newChild } from "./_child.ts";
import { validateChildSpecs } from "./child_spec.ts";
import { childStatus, readiness, statusRow } from "./status.ts";

const [a, b, c] = validateChildSpecs([
  { id: "a", module: "file:///repo/actors/a/worker.ts", critical: true },
  { id: "b", module: "file:///repo/actors/b/worker.ts", critical: true, freshness: 1_000 },
  { id: "c", module: "file:///repo/actors/c/worker.ts", intensity: { periodMs: 10_000 } },
]);

Deno.test("readiness() needs every critical child running with fresh data and none failed", () => {
  const children = [newChild(a!), newChild(b!), newChild(c!)];
  for (const x of children) x.state = "running";
  assert.deepEqual(readiness(children), { ready: true, reasons: [] });
  children[0]!.state = "degraded";
  children[1]!.stale = true;
  children[2]!.state = "failed";
  assert.deepEqual(readiness(children), {
    ready: false,
    reasons: ["a is degraded", "b has stale data", "c is failed"],
  });
  children[0]!.state = "failed";
  assert.deepEqual(readiness(children).reasons, [
    "a is failed",
    "b has stale data",
    "c is failed",
  ], "a failed critical child is named once");
});

Deno.test("childStatus() counts restarts in the window and ages from now", () => {
  const x = newChild(c!, [1_000, 5_000, 6_000, 9_000]);
  x.state = "running";
  x.lastHeartbeatAt = 14_000;
  x.newestDataAt = 12_000;
  const s = childStatus(x, 15_000);
  assert.equal(s.restarts, 4);
  assert.equal(s.restartsInWindow, 2, "those after now - periodMs (5000 is out)");
  assert.equal(s.heartbeatAgeMs, 1_000);
  assert.equal(s.freshnessLagMs, 3_000);
  assert.equal(s.module, "(outside the project)/worker.ts", "no path of the machine");
  x.state = "stopped";
  assert.equal(childStatus(x, 15_000).heartbeatAgeMs, null, "no worker: no heartbeat age");
});

Deno.test("statusRow() carries the counters beside the details", () => {
  const x = newChild(a!);
  x.counters = { "rows.written": 3 };
  x.details = { venue: "coinbase" };
  assert.deepEqual(statusRow(x).details, { counters: { "rows.written": 3 }, venue: "coinbase" });
});
