import assert from "node:assert/strict";
import { canTransition, transition } from "./lifecycle.ts";

Deno.test("transition() allows the documented path start → ready → degraded → running → stop", () => {
  let s = transition("a", "stopped", "starting");
  s = transition("a", s, "running");
  s = transition("a", s, "degraded");
  s = transition("a", s, "running");
  s = transition("a", s, "stopping");
  assert.equal(transition("a", s, "stopped"), "stopped");
});

Deno.test("transition() throws on an illegal transition, naming the child", () => {
  assert.throws(() => transition("price_watchdog:btc", "stopped", "running"), /price_watchdog:btc/);
  assert.throws(() => transition("a", "stopping", "running"), /illegal transition/);
  assert.equal(canTransition("failed", "running"), false);
  assert.equal(canTransition("backoff", "starting"), true);
});
