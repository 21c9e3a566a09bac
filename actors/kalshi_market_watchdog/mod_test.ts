import assert from "node:assert/strict";
import { nextPollDelay, pollCondition, RATE_LIMITED } from "./mod.ts";

const settings = { pollMs: 1_000, rateLimitBackoffMaxMs: 60_000 };
const limited = { rateLimited: 2 };
const clean = { rateLimited: 0 };

Deno.test("nextPollDelay() doubles the wait per rate-limited poll up to the cap, then halves it per clean poll", () => {
  let level = 0;
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = nextPollDelay(level, limited, settings);
    level = r.level;
    waits.push(r.delayMs);
    assert.equal(r.fromEnd, true);
  }
  assert.deepEqual(waits, [2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  const down: number[] = [];
  for (let i = 0; i < 7; i++) {
    const r = nextPollDelay(level, clean, settings);
    level = r.level;
    down.push(r.delayMs);
  }
  assert.deepEqual(down, [32_000, 16_000, 8_000, 4_000, 2_000, 1_000, 1_000]);
  assert.deepEqual(nextPollDelay(0, clean, settings), { level: 0, delayMs: 1_000, fromEnd: false });
});

Deno.test("nextPollDelay() waits at least the Retry-After of a 429, bounded at 15 minutes", () => {
  assert.equal(nextPollDelay(0, { rateLimited: 1, retryAfterMs: 5_000 }, settings).delayMs, 5_000);
  assert.equal(nextPollDelay(3, { rateLimited: 1, retryAfterMs: 500 }, settings).delayMs, 16_000);
  assert.equal(
    nextPollDelay(0, { rateLimited: 1, retryAfterMs: 86_400_000 }, settings).delayMs,
    900_000,
  );
  // A Retry-After is about the poll that got it: a clean poll ignores a stale one.
  assert.equal(nextPollDelay(0, { rateLimited: 0, retryAfterMs: 5_000 }, settings).delayMs, 1_000);
});

Deno.test("nextPollDelay() never waits less than pollMs, even with a cap below it", () => {
  const r = nextPollDelay(0, limited, { pollMs: 5_000, rateLimitBackoffMaxMs: 1_000 });
  assert.equal(r.delayMs, 5_000);
});

Deno.test("pollCondition() names a 429 rate limited, all-failed unreachable, a written snapshot healthy", () => {
  const none = { written: 0, failed: 0, missing: 0, rateLimited: 0 };
  assert.deepEqual(pollCondition({ ...none, rateLimited: 1, failed: 1 }, 2), {
    key: "rate_limited",
    reason: RATE_LIMITED,
  });
  assert.deepEqual(pollCondition({ ...none, rateLimited: 1, written: 1 }, 2)?.key, "rate_limited");
  assert.deepEqual(pollCondition({ ...none, failed: 1, missing: 1 }, 2, "HTTP 503"), {
    key: "unreachable",
    reason: "kalshi unreachable: HTTP 503",
  });
  assert.equal(pollCondition({ ...none, failed: 1, written: 1 }, 2), null);
  assert.equal(pollCondition({ ...none, missing: 2 }, 2), undefined, "nothing listed yet");
  assert.equal(pollCondition(none, 2), undefined, "only rejected snapshots");
});
