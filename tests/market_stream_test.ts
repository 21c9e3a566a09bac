/**
 * `GET /market/stream` (`supervisor/http_market_stream.ts`, mounted by the market routes) on a
 * real database: the current price and table on connect, a price event after a row and its
 * `NOTIFY` committed (as the price watchdog commits them), a strike_table event after the
 * coordinator's notification, heartbeats on the fake clock, one shared listener for several
 * clients, a slow client that gets the newest price and not every one, malformed payloads
 * ignored and counted, the client limit, and a 503 when LISTEN is refused.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { ManualClock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import { priceChannel, strikeTableChannel } from "../lib/notify_channels.ts";
import { addMarketRoutes } from "../supervisor/http_market.ts";
import { addMarketStreamRoute } from "../supervisor/http_market_stream.ts";
import { problemResponse } from "../supervisor/http_problem.ts";
import { createTestDb, type TestDb } from "./_db.ts";
import { eventually } from "./_eventually.ts";

interface Frame {
  comment?: string;
  event?: string;
  data?: string;
}

/** Reads SSE frames as they arrive (`read: false`: reads nothing until `resume`). */
function reader(res: Response, read = true) {
  const frames: Frame[] = [];
  let buf = "";
  let go = () => {};
  const started = read ? Promise.resolve() : new Promise<void>((r) => (go = r));
  const r = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const pump = (async () => {
    await started;
    for (;;) {
      const { done, value } = await r.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const f: Frame = {};
        for (const line of buf.slice(0, i).split("\n")) {
          if (line.startsWith(":")) f.comment = line.slice(1).trim();
          else if (line.startsWith("event:")) f.event = line.slice(6).trim();
          else if (line.startsWith("data:")) f.data = line.slice(5).trim();
        }
        buf = buf.slice(i + 2);
        frames.push(f);
      }
    }
  })().catch(() => {});
  const of = (event: string) =>
    frames.filter((f) => f.event === event).map((f) => JSON.parse(f.data!));
  return {
    frames,
    prices: () => of("price"),
    tables: () => of("strike_table"),
    resume: () => go(),
    async cancel() {
      go();
      await r.cancel().catch(() => {});
      await pump;
    },
  };
}

function app(sql: Sql, clock = new ManualClock(Date.UTC(2026, 0, 1))) {
  const rejected: string[] = [];
  const a = new Hono();
  a.onError((e) => problemResponse(e));
  addMarketRoutes(a, { sql, clock, reject: (r) => rejected.push(r) });
  return { app: a, rejected, clock };
}

/** A price row and its notification in one transaction, as the price watchdog commits them. */
async function writePrice(db: TestDb, sym: string, at: Date, price: string): Promise<void> {
  await db.sql.begin(async (tx) => {
    await tx`insert into ${tx(`live_data.${sym}_price_log`)} ("timestamp", price)
      values (${at}, ${price})`;
    await tx`select pg_notify(${priceChannel(sym)}, ${
      JSON.stringify({ symbol: sym, timestamp: at.toISOString(), price, rows: 1 })
    })`;
  });
}

const T = Date.UTC(2026, 0, 1, 12);

Deno.test("GET /market/stream - sends the current price on connect, then a price event per committed row, and strike tables", async () => {
  await using db = await createTestDb();
  await db.sql`insert into live_data.btc_price_log ("timestamp", price) values (${new Date(
    T,
  )}, 97000)`;
  const { app: a } = app(db.sql);
  const res = await a.request("/market/stream");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const s = reader(res);
  try {
    await eventually(() => s.prices().length === 1);
    assert.equal(s.prices()[0].symbol, "btc");
    assert.equal(Number(s.prices()[0].price), 97_000);
    assert.equal(s.tables().length, 0, "no strike table yet, no eth price: nothing sent for them");

    await writePrice(db, "btc", new Date(T + 1_000), "97001.5");
    await eventually(() => s.prices().length === 2);
    assert.equal(Number(s.prices()[1].price), 97_001.5);
    assert.equal(s.prices()[1].timestamp, new Date(T + 1_000).toISOString());

    await db.sql.begin(async (tx) => {
      await tx`insert into live_data.strike_table_header (symbol, current_price, stale, last_updated)
        values ('BTC', 97001.5, false, ${new Date(T + 1_000)})`;
      await tx`select pg_notify(${strikeTableChannel("btc")}, ${
        JSON.stringify({ symbol: "btc", cycleAt: new Date(T + 1_000).toISOString() })
      })`;
    });
    await eventually(() => s.tables().length === 1);
    assert.equal(s.tables()[0].symbol, "btc");
    assert.equal(s.tables()[0].stale, false);
    assert.equal(Number(s.tables()[0].header.current_price), 97_001.5);
  } finally {
    await s.cancel();
  }
});

Deno.test("GET /market/stream - heartbeats on the clock; several clients share one listener; malformed payloads are counted", async () => {
  await using db = await createTestDb();
  const { app: a, rejected, clock } = app(db.sql);
  const one = reader(await a.request("/market/stream"));
  const two = reader(await a.request("/market/stream"));
  try {
    await eventually(() =>
      [one, two].every((s) => s.frames.some((f) => f.comment === "connected"))
    );
    await clock.tick(15_000);
    await eventually(() => one.frames.some((f) => f.comment === "heartbeat"));
    await eventually(() => two.frames.some((f) => f.comment === "heartbeat"));

    await db.sql`select pg_notify(${priceChannel("btc")}, 'not json')`;
    await db.sql`select pg_notify(${strikeTableChannel("eth")}, ${
      JSON.stringify({ symbol: "btc", cycleAt: new Date(T).toISOString() })
    })`;
    await writePrice(db, "eth", new Date(T), "3500.25");
    await eventually(() => one.prices().length === 1 && two.prices().length === 1);
    assert.deepEqual(
      rejected,
      ["bad_notification", "bad_notification"],
      "once each, not per client",
    );
    assert.equal(two.prices()[0].symbol, "eth");
    const [n] = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and query ilike 'listen %'`;
    assert.ok(n!.n <= 1, "one listen connection for both clients");
  } finally {
    await one.cancel();
    await two.cancel();
  }
});

Deno.test("GET /market/stream - a client that does not read gets the newest price, not every one", async () => {
  await using db = await createTestDb();
  const { app: a } = app(db.sql);
  const s = reader(await a.request("/market/stream"), false);
  try {
    for (let i = 1; i <= 50; i++) {
      await writePrice(db, "btc", new Date(T + i * 1_000), String(90_000 + i));
    }
    s.resume();
    await eventually(() => Number(s.prices().at(-1)?.price) === 90_050);
    assert.ok(s.prices().length <= 10, `${s.prices().length} price events for 50 rows`);
  } finally {
    await s.cancel();
  }
});

Deno.test("GET /market/stream - at most maxClients streams (503 beyond); 503 when LISTEN is refused", async () => {
  await using db = await createTestDb();
  const limited = new Hono();
  limited.onError((e) => problemResponse(e));
  const deps = {
    reject: () => {},
    symbols: () => Promise.resolve(["btc"]),
    readPrice: () => Promise.resolve(null),
    readTable: () => Promise.resolve(null),
  };
  addMarketStreamRoute(limited, { ...deps, sql: db.sql, maxClients: 1 });
  const first = reader(await limited.request("/market/stream"));
  try {
    const second = await limited.request("/market/stream");
    assert.equal(second.status, 503);
    assert.match((await second.json()).detail, /too many market streams \(at most 1\)/);
  } finally {
    await first.cancel();
  }
  await eventually(async () => {
    const again = await limited.request("/market/stream");
    await again.body?.cancel();
    return again.status === 200;
  }, { message: "a closed stream frees its place" });

  const refusing = new Hono();
  refusing.onError((e) => problemResponse(e));
  const sql = { listen: () => Promise.reject(new Error("connection refused")) } as unknown as Sql;
  addMarketStreamRoute(refusing, { ...deps, sql });
  const res = await refusing.request("/market/stream");
  assert.equal(res.status, 503);
  assert.match((await res.json()).detail, /market stream is unavailable/);
});
