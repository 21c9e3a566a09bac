import assert from "node:assert/strict";
import type { LeaseGrant } from "../../lib/fence.ts";
import { StoreLease } from "./store_lease.ts";

const grant = (epoch: number): LeaseGrant => ({ name: "price_watchdog:btc", node: "a", epoch });

Deno.test("StoreLease without a lease writes with no grant and never pauses into a standby role", () => {
  const lease = new StoreLease(() => undefined);
  assert.equal(lease.leased, false);
  assert.equal(lease.grant, undefined);
  assert.equal(lease.takeoverDue, null);
  assert.deepEqual(lease.status(), { role: "holder", epoch: null });
  assert.equal(new StoreLease().grant, undefined, "no getter: not leased");
});

Deno.test("StoreLease is a standby while the lease is null and takes over each new grant once", () => {
  let current: LeaseGrant | null = null;
  const lease = new StoreLease(() => current);
  assert.equal(lease.leased, true);
  assert.equal(lease.grant, null);
  assert.deepEqual(lease.status(), { role: "standby", epoch: null });
  current = grant(4);
  lease.changed(current);
  assert.equal(lease.takeoverDue, current);
  current = grant(5); // a newer grant arrives while the first takeover reads
  lease.changed(current);
  lease.tookOver(grant(4));
  assert.deepEqual(lease.takeoverDue, grant(5), "the newer grant's takeover is still due");
  lease.tookOver(grant(5));
  assert.equal(lease.takeoverDue, null);
  assert.deepEqual(lease.status(), { role: "holder", epoch: 5 });
});

Deno.test("StoreLease.pause() (fenced, released) writes nothing until the next grant, whatever the getter says", () => {
  let current: LeaseGrant | null = grant(7);
  const lease = new StoreLease(() => current);
  lease.pause();
  assert.equal(lease.grant, null);
  assert.deepEqual(lease.status(), { role: "standby", epoch: 7 });
  lease.changed(null);
  current = null;
  assert.equal(lease.grant, null);
  current = grant(9);
  lease.changed(current);
  assert.equal(lease.grant, current);
  assert.equal(lease.takeoverDue, current);
});
