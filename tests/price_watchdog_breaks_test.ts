/**
 * Feed breaks (issue 12 §2) against the fake Coinbase and a real PostgreSQL server: sequence
 * jumps followed at once by bursts of trades, lost frames, closes, a stalled connection, a server
 * error during trading and a stop with a trade still on the wire. Every traded second is stored
 * once, with the last valid price that reached the actor, and `complete = false` exactly where a
 * break may have taken that second's last trade.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createTestDb, eventually } from "./_db.ts";
import { FakeCoinbase } from "./fakes/coinbase_server.ts";
import { hostWatchdog, readRows, seeded } from "./_price_watchdog.ts";

function args(fake: FakeCoinbase, extra: Record<string, unknown> = {}) {
  return {
    symbol: "BTC",
    feed: "advanced",
    wsUrl: fake.advancedUrl,
    restUrl: fake.restUrl,
    flushMs: 20,
    // Seconds here are closed by trades and heartbeats, never by the idle flush.
    idleEmitMs: 30_000,
    ...extra,
  };
}

type Ev =
  | { kind: "tick"; timeMs: number; price: string }
  | { kind: "hb"; timeMs: number }
  | { kind: "gap"; n: number };

/** The fake's side of a script, in order. */
function play(fake: FakeCoinbase, events: readonly Ev[]): void {
  for (const e of events) {
    if (e.kind === "tick") fake.tick({ timeMs: e.timeMs, price: e.price });
    else if (e.kind === "hb") fake.heartbeat(e.timeMs);
    else fake.skipSequence(e.n);
  }
}

/**
 * What must be stored, stated directly: each traded second's last price; a second is incomplete
 * when a gap followed its last data (no later second seen yet) and no trade of it came after the
 * gap.
 */
function expected(events: readonly Ev[]): [number, string, boolean][] {
  const rows = new Map<number, { price: string; complete: boolean }>();
  const sec = (ms: number) => Math.floor(ms / 1000) * 1000;
  events.forEach((e) => {
    if (e.kind === "tick") rows.set(sec(e.timeMs), { price: e.price, complete: true });
  });
  events.forEach((e, i) => {
    if (e.kind !== "gap") return;
    const before = events.slice(0, i).filter((x) => x.kind !== "gap") as { timeMs: number }[];
    const lastData = before.at(-1);
    const lastTick = events.slice(0, i).filter((x) => x.kind === "tick").at(-1) as
      | { timeMs: number }
      | undefined;
    if (!lastData || !lastTick || sec(lastData.timeMs) !== sec(lastTick.timeMs)) return;
    const s = sec(lastTick.timeMs);
    const completedAfter = events.slice(i + 1).some((x) =>
      x.kind === "tick" && sec(x.timeMs) === s
    );
    if (!completedAfter) rows.get(s)!.complete = false;
  });
  return [...rows].sort((a, b) => a[0] - b[0]).map(([t, r]) => [t, r.price, r.complete]);
}

/** Trades over `seconds` seconds; after about a quarter of them a sequence jump and a burst. */
function scriptWithJumps(startMs: number, seconds: number, seed: number): Ev[] {
  const rnd = seeded(seed);
  const out: Ev[] = [];
  let price = 68_000;
  const next = () => (price += Math.round((rnd() - 0.5) * 200) / 100).toFixed(2);
  let t = startMs;
  const end = startMs + seconds * 1000;
  while (t < end) {
    t += 1 + Math.floor(rnd() * 700);
    out.push({ kind: "tick", timeMs: t, price: next() });
    const r = rnd();
    if (r < 0.25) {
      out.push({ kind: "gap", n: 1 + Math.floor(rnd() * 5) });
      // At once a burst: in the same second or from a later one.
      if (rnd() < 0.5) t = Math.floor(t / 1000) * 1000 + 1000 + Math.floor(rnd() * 3) * 1000;
      for (let k = 0; k < 2 + Math.floor(rnd() * 5); k++) {
        t += 1 + Math.floor(rnd() * 40);
        out.push({ kind: "tick", timeMs: t, price: next() });
      }
    } else if (r < 0.35) {
      out.push({ kind: "hb", timeMs: Math.floor(t / 1000) * 1000 + 1000 });
      t = Math.floor(t / 1000) * 1000 + 1000;
    }
  }
  out.push({ kind: "hb", timeMs: Math.floor(t / 1000) * 1000 + 1000 }); // closes the last second
  return out;
}

const tidy = (rows: Awaited<ReturnType<typeof readRows>>) =>
  rows.map((r) => [r.t, String(Number(r.price).toFixed(2)), r.complete]);

Deno.test("price_watchdog - sequence jumps followed at once by bursts: every traded second stored once with its last price, marked incomplete only where a jump may have taken its last trade", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  await using w = await hostWatchdog({ sql: db.sql, args: args(fake) });
  await eventually(() => fake.subscribers() === 1);
  const start = Math.floor(Date.now() / 1000) * 1000 - 30 * 60_000;
  const events = scriptWithJumps(start, 240, 5);
  const jumps = events.filter((e) => e.kind === "gap").length;
  assert.ok(jumps >= 30, `${jumps} jumps`);
  const last = events.filter((e) => e.kind === "tick").at(-1) as { timeMs: number };
  const openSecond = Math.floor(last.timeMs / 1000) * 1000;
  play(fake, events.slice(0, -1));
  // Bad inputs before the last second closes: none of them may change what is stored.
  const frame = (seq: number, ms: number, price: string) =>
    JSON.stringify({
      channel: "ticker",
      client_id: "",
      timestamp: new Date(ms).toISOString(),
      sequence_num: seq,
      events: [{ type: "update", tickers: [{ product_id: "BTC-USD", price }] }],
    });
  fake.sendRaw("{not json");
  fake.sendRaw(frame(0, openSecond + 999, "1.00")); // a sequence number already used
  fake.sendRaw(frame(2, openSecond + 999, "2.00")); // an older one (out of order)
  fake.tick({ timeMs: start + 500, price: "68000.00" }); // a second already stored
  play(fake, events.slice(-1));
  const want = expected(events);
  await eventually(async () => (await readRows(db.sql)).length === want.length, {
    message: "rows not written",
  });
  assert.deepEqual(tidy(await readRows(db.sql)), want);
  assert.ok(want.some(([, , c]) => !c) && want.some(([, , c]) => c), "both kinds occur");
  const c = w.counters();
  assert.equal(c["gaps.sequence_gap"], jumps, "every jump counted");
  assert.equal(c["rows.incomplete"], want.filter(([, , ok]) => !ok).length);
  assert.equal(c["duplicates.sequence"], 2);
  assert.equal(c["rejected.malformed_json"], 1);
  assert.equal(c["rejected.stale_frame"], 1);
  assert.equal(fake.connectionsOpened, 1, "a jump never reconnects");
  const [g] = await db.sql<{ n: number }[]>`select count(*)::int as n from system.ingest_gaps`;
  assert.equal(g!.n, 0, "jumps of a few ms are counted, not recorded as ingest gaps");
});

Deno.test("price_watchdog - frames lost on the way: the second keeps the last trade received, marked incomplete; the next second is whole", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  await using w = await hostWatchdog({ sql: db.sql, args: args(fake) });
  await eventually(() => fake.subscribers() === 1);
  const s0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  fake.tick({ timeMs: s0 + 100, price: "100.00" });
  fake.loseFrames(2);
  fake.tick([{ timeMs: s0 + 700, price: "101.00" }, { timeMs: s0 + 900, price: "102.00" }]);
  fake.tick([{ timeMs: s0 + 1_050, price: "103.00" }, { timeMs: s0 + 1_500, price: "104.00" }]);
  fake.heartbeat(s0 + 2_000);
  await eventually(async () => (await readRows(db.sql)).length === 2);
  assert.deepEqual(tidy(await readRows(db.sql)), [
    [s0, "100.00", false],
    [s0 + 1_000, "104.00", true],
  ]);
  assert.equal(w.counters()["gaps.lost_frames"], 2);
});

Deno.test("price_watchdog - closes: reconnects at once; a second the new connection completes is complete, one it cannot is marked", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  await using w = await hostWatchdog({ sql: db.sql, args: args(fake) });
  await eventually(() => fake.subscribers() === 1);
  const s0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  fake.tick([{ timeMs: s0 + 100, price: "200.00" }, { timeMs: s0 + 300, price: "201.00" }]);
  await eventually(() => w.counters()["ticks"] === 2);
  fake.dropConnections();
  await eventually(() => fake.connectionsOpened === 2 && fake.subscribers() === 1);
  fake.tick([
    { timeMs: s0 + 600, price: "202.00" },
    { timeMs: s0 + 900, price: "203.00" }, // completes s0
    { timeMs: s0 + 1_200, price: "210.00" },
    { timeMs: s0 + 1_500, price: "211.00" },
  ]);
  await eventually(() => w.counters()["ticks"] === 6);
  fake.dropConnections();
  await eventually(() => fake.connectionsOpened === 3 && fake.subscribers() === 1);
  fake.tick([{ timeMs: s0 + 3_100, price: "230.00" }, { timeMs: s0 + 3_200, price: "231.00" }]);
  fake.heartbeat(s0 + 4_000);
  await eventually(async () => (await readRows(db.sql)).length === 3);
  assert.deepEqual(tidy(await readRows(db.sql)), [
    [s0, "203.00", true],
    [s0 + 1_000, "211.00", false], // its end fell in the second outage
    [s0 + 3_000, "231.00", true],
  ]);
  assert.equal(w.counters()["gaps.close"], 2);
});

Deno.test("price_watchdog - a stalled connection is replaced while it stays open: the trades it held are used when it wakes, none doubled", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  await using w = await hostWatchdog({ sql: db.sql, args: args(fake, { silenceMs: 400 }) });
  await eventually(() => fake.subscribers() === 1);
  const [a] = fake.connectionIds();
  const s0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  fake.tick({ timeMs: s0 + 100, price: "300.00" });
  await eventually(() => w.counters()["ticks"] === 1);
  fake.stallConnection(a!, true);
  fake.tick([{ timeMs: s0 + 500, price: "301.00" }, { timeMs: s0 + 1_100, price: "302.00" }]);
  // Silence: a second connection subscribes while the first is still open.
  await eventually(() => fake.subscribers() === 2);
  await eventually(() => w.progress().details?.successor === "subscribed");
  fake.stallConnection(a!, false); // the first wakes up and delivers what it held
  await eventually(() => fake.subscribers() === 1 && !fake.connectionIds().includes(a!));
  fake.tick({ timeMs: s0 + 1_600, price: "303.00" });
  fake.heartbeat(s0 + 2_000);
  await eventually(async () => (await readRows(db.sql)).length === 2);
  assert.deepEqual(tidy(await readRows(db.sql)).map(([t, p]) => [t, p]), [
    [s0, "301.00"],
    [s0 + 1_000, "303.00"],
  ]);
  assert.equal(w.counters()["ticks"], 4, "each trade once");
  assert.equal(w.counters()["disconnects.silence"], 1);
});

Deno.test("price_watchdog - a server error during trading: the new connection opens first, trades sent meanwhile come once, the seconds stay complete", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  await using w = await hostWatchdog({ sql: db.sql, args: args(fake) });
  await eventually(() => fake.subscribers() === 1);
  const [a] = fake.connectionIds();
  const s0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  fake.tick({ timeMs: s0 + 100, price: "400.00" });
  await eventually(() => w.counters()["ticks"] === 1);
  fake.sendRawTo(a!, JSON.stringify({ type: "error", message: "internal error" }));
  await eventually(() => w.progress().details?.successor === "subscribed");
  // Sent to both connections: the old one proves live and is closed; the new one's copies are
  // duplicates.
  fake.tick([
    { timeMs: s0 + 400, price: "401.00" },
    { timeMs: s0 + 800, price: "402.00" },
    { timeMs: s0 + 1_200, price: "410.00" },
  ]);
  await eventually(() => fake.subscribers() === 1 && !fake.connectionIds().includes(a!));
  fake.tick({ timeMs: s0 + 1_700, price: "411.00" });
  fake.heartbeat(s0 + 2_000);
  await eventually(async () => (await readRows(db.sql)).length === 2);
  assert.deepEqual(tidy(await readRows(db.sql)), [
    [s0, "402.00", true],
    [s0 + 1_000, "411.00", true],
  ]);
  const c = w.counters();
  assert.equal(c["ticks"], 5, "each trade once");
  assert.equal(c["duplicates.tick"], 3);
  assert.equal(c["gaps.server_error"] ?? 0, 0, "nothing lost");
});

Deno.test("price_watchdog - a stop uses the trade still on the wire and stores the unfinished second as incomplete", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase();
  const w = await hostWatchdog({ sql: db.sql, args: args(fake) });
  const s0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  await eventually(() => fake.subscribers() === 1);
  fake.tick([{ timeMs: s0 + 100, price: "500.00" }, { timeMs: s0 + 1_100, price: "510.00" }]);
  await eventually(() => w.counters()["ticks"] === 2);
  fake.tick({ timeMs: s0 + 1_900, price: "511.00" }); // in flight when the stop comes
  await w.stop();
  assert.deepEqual(tidy(await readRows(db.sql)), [
    [s0, "500.00", true],
    [s0 + 1_000, "511.00", false],
  ]);
});
