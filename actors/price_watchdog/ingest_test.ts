import assert from "node:assert/strict";
import type { ActorContext } from "../_runtime.ts";
import { ManualClock } from "../../lib/clock.ts";
import { getLogger, RateLimitedLog } from "../../lib/log.ts";
import { CLOSE_GRACE_MS, TickIntake, TIMED_CLOSE_MAX_LAG_MS } from "./ingest.ts";
import type { SecondRow } from "./second_bucket.ts";

const S = Date.UTC(2026, 0, 1, 12, 0, 0);

/** An intake on a manual clock at `S`, recording what it emits and counts. */
function intake() {
  const clock = new ManualClock(S);
  const counters: Record<string, number> = {};
  const rows: SecondRow[] = [];
  const ctx = {
    clock,
    count: (n: string, k = 1) => void (counters[n] = (counters[n] ?? 0) + k),
  } as unknown as ActorContext;
  const warn = new RateLimitedLog(getLogger("test"), {
    perWindow: 1,
    windowMs: 60_000,
    now: () => clock.now(),
  });
  const it = new TickIntake(ctx, {
    productId: "BTC-USD",
    warn,
    exchangeTime: () => {},
    emit: (row) => void (row && rows.push(row)),
  });
  /** A trade of exchange time `timeMs`, handled now. */
  const tick = (timeMs: number, price: string) =>
    it.item({ kind: "tick", timeMs, price }, clock.now());
  return { clock, counters, rows, it, tick };
}

Deno.test("TickIntake - with no later frame a second closes CLOSE_GRACE_MS after its end, complete, and a later frame of it is stale", () => {
  const { clock, counters, rows, tick } = intake();
  assert.equal(CLOSE_GRACE_MS, 150);
  clock.advance(300);
  tick(S + 300, "100"); // handled at once: no receive delay
  clock.advance(1_000 - 300 + CLOSE_GRACE_MS - 1);
  assert.equal(rows.length, 0, "not before the grace has passed");
  clock.advance(1);
  assert.deepEqual(rows, [{ secondMs: S, price: "100", receivedMs: S + 300 }]);
  assert.equal(counters["rows.closed_by_clock"], 1);
  tick(S + 950, "101"); // later than the grace
  assert.equal(counters["rejected.stale_frame"], 1);
  assert.equal(rows.length, 1);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("TickIntake - the first frame of the next second closes the previous at once and the timer then closes only the new one", () => {
  const { clock, counters, rows, tick } = intake();
  tick(S + 100, "100");
  tick(S + 800, "101"); // the close is due 350 ms from now
  clock.advance(300);
  tick(S + 1_050, "102"); // the first frame of the next second
  assert.deepEqual(rows.map((r) => [r.secondMs, r.price]), [[S, "101"]]);
  assert.equal(clock.pendingTimers, 1, "one timer, for the new second");
  clock.advance(10_000);
  assert.deepEqual(rows.map((r) => [r.secondMs, r.price]), [[S, "101"], [S + 1_000, "102"]]);
  assert.equal(counters["rows.closed_by_clock"], 1, "the first second was closed by the frame");
});

Deno.test("TickIntake - the close follows the feed's delay: frames arriving 400 ms after their exchange time push it by as much", () => {
  const { clock, rows, tick } = intake();
  clock.advance(700);
  tick(S + 300, "100"); // handled 400 ms after its exchange time
  clock.advance(1_000 - 300 + CLOSE_GRACE_MS - 1);
  assert.equal(rows.length, 0);
  tick(S + 990, "101"); // still in its second by the feed's clock: taken, re-arms
  clock.advance(1_000 - 990 + CLOSE_GRACE_MS - 1);
  assert.equal(rows.length, 0);
  clock.advance(1);
  assert.deepEqual(rows.map((r) => [r.secondMs, r.price, r.incomplete]), [[S, "101", undefined]]);
});

Deno.test("TickIntake - a heartbeat within the held second re-arms the close; a heartbeat of a later second closes it", () => {
  const { clock, rows, it, tick } = intake();
  tick(S + 100, "100");
  clock.advance(600);
  it.item({ kind: "clock", timeMs: S + 200 }, clock.now()); // 400 ms behind now: re-armed later
  clock.advance(1_000 - 200 + CLOSE_GRACE_MS - 1);
  assert.equal(rows.length, 0);
  it.item({ kind: "clock", timeMs: S + 1_000 }, clock.now());
  assert.deepEqual(rows.map((r) => r.secondMs), [S]);
  assert.equal(clock.pendingTimers, 0, "nothing held, nothing armed");
});

Deno.test("TickIntake - no timed close for a feed further behind than TIMED_CLOSE_MAX_LAG_MS, nor after stop()", () => {
  const { clock, rows, it, tick } = intake();
  clock.advance(TIMED_CLOSE_MAX_LAG_MS + 1);
  tick(S, "100"); // a backlog: its next frames close its seconds
  assert.equal(clock.pendingTimers, 0);
  clock.advance(60_000);
  assert.equal(rows.length, 0);
  tick(clock.now(), "101"); // closes S; live again: armed
  assert.equal(rows.length, 1);
  assert.equal(clock.pendingTimers, 1);
  it.stop();
  assert.equal(clock.pendingTimers, 0);
  tick(clock.now() + 10, "102");
  assert.equal(clock.pendingTimers, 0, "stopped: never armed again");
});

Deno.test("TickIntake - a second closed by the clock after a feed break that may have lost its last trade is incomplete", () => {
  const { clock, rows, it, tick } = intake();
  tick(S + 100, "100");
  it.bucket.markBreak(S + 200, S + 600);
  clock.advance(2_000);
  assert.deepEqual(rows.map((r) => r.incomplete), [true]);
});
