import assert from "node:assert/strict";
import { EventBus, parseEventId } from "./event_bus.ts";

Deno.test("EventBus.publish() gives each subscriber the event with an id <at>-<seq>", () => {
  const bus = new EventBus({ node: "n1" });
  const got: string[] = [];
  const off = bus.subscribe((e) => got.push(`${e.id} ${e.node} ${e.actor_id} ${e.event}`));
  bus.publish({ actorId: "a", event: "start", at: 1_000 });
  bus.publish({ actorId: null, event: "supervisor_stop", at: 1_000 });
  off();
  bus.publish({ actorId: "a", event: "exit", at: 2_000 });
  assert.deepEqual(got, ["1000-1 n1 a start", "1000-2 n1 null supervisor_stop"]);
  assert.equal(bus.subscribers, 0);
});

Deno.test("EventBus.publish() drops a subscriber that throws and still serves the others", () => {
  const bus = new EventBus({ node: "n1" });
  let good = 0;
  bus.subscribe(() => {
    throw new Error("broken subscriber");
  });
  bus.subscribe(() => good++);
  bus.publish({ actorId: "a", event: "start", at: 1 });
  bus.publish({ actorId: "a", event: "ready", at: 2 });
  assert.equal(good, 2);
  assert.equal(bus.subscribers, 1);
});

Deno.test("EventBus.since() returns the events after a ring id, undefined for unknown ids", () => {
  const bus = new EventBus({ node: "n1", ringSize: 3 });
  for (let i = 1; i <= 5; i++) bus.publish({ actorId: "a", event: `e${i}`, at: i * 10 });
  // ring holds seq 3..5
  assert.deepEqual(bus.since({ atMs: 30, seq: 3 })?.map((e) => e.event), ["e4", "e5"]);
  assert.deepEqual(bus.since({ atMs: 50, seq: 5 }), []);
  assert.equal(bus.since({ atMs: 10, seq: 1 }), undefined, "evicted from the ring");
  assert.equal(bus.since({ atMs: 999, seq: 4 }), undefined, "same seq, other process");
  assert.deepEqual(bus.newerThan(35).map((e) => e.event), ["e4", "e5"]);
});

Deno.test("EventBus.close() runs every onClose and refuses new subscriptions", () => {
  const bus = new EventBus({ node: "n1" });
  let closed = 0;
  bus.subscribe(() => {}, () => closed++);
  bus.subscribe(() => {}, () => closed++);
  bus.close();
  assert.equal(closed, 2);
  assert.equal(bus.subscribers, 0);
  bus.subscribe(() => {}, () => closed++);
  assert.equal(closed, 3, "a late subscriber is closed at once");
  assert.equal(bus.subscribers, 0);
});

Deno.test("parseEventId() accepts <ms>-<seq> and rejects anything else", () => {
  assert.deepEqual(parseEventId("1700000000000-42"), { atMs: 1700000000000, seq: 42 });
  for (const bad of ["", "42", "a-1", "1-2-3", "-1-2", "1_2", "1".repeat(16) + "-1"]) {
    assert.equal(parseEventId(bad), undefined, bad);
  }
});
