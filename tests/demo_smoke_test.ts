/**
 * Demo mode end to end: `demo/main.ts` (what `deno task demo` runs) as a subprocess on its own
 * embedded database, checked through the HTTP API and the database for about a minute: every
 * actor running, both price logs filling with momentum, a fresh strike table, the account tables,
 * fault drills recovered, and a clean stop. Then the live system (`main.ts`, `deno task start`) on
 * the same data folder: it starts on an empty database of its own, while the demo's keeps its data.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { freePort, runningEmbedded, startEmbeddedDb } from "../lib/embedded_db/mod.ts";
import { eventually } from "./_eventually.ts";
import { exists } from "./_process.ts";

const DEMO = new URL("../demo/main.ts", import.meta.url).pathname;
const START = new URL("../main.ts", import.meta.url).pathname;

/** The environment without this machine's rec.io, Kalshi and database settings. */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) =>
      !k.startsWith("RECIO_") && k !== "DATABASE_URL" && k !== "STATUS_TOKEN" &&
      !k.startsWith("KALSHI_")
    ),
  );
}

/** Counts of the tables the demo fills, in the database at `url`. */
async function demoRows(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [r] = await sql`select
      (select count(*)::int from live_data.btc_price_log) as btc,
      (select count(*)::int from live_data.eth_price_log) as eth,
      (select count(*)::int from user_0001.fills) as fills,
      (select count(*)::int from user_0001.account_balance) as balances,
      (select count(*)::int from user_0001.positions) as positions,
      (select count(*)::int from user_0001.orders) as orders,
      (select count(*)::int from user_0001.settlements) as settlements,
      (select count(*)::int from user_0001.trades) as trades,
      (select string_agg(mode, ',') from system.database_mode) as mode`;
    return r!;
  } finally {
    await sql.end();
  }
}

/** The URL of the embedded server running in `pgDir`, from its files. */
function embeddedUrl(pgDir: string): string {
  const found = runningEmbedded(pgDir);
  if ("why" in found) throw new Error(found.why);
  return found.url;
}

Deno.test({
  name:
    "demo - the whole system runs offline on simulated venues, recovers from drills, and leaves the live data folder alone",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "recio_demo_" });
    await using _removed = {
      [Symbol.asyncDispose]: () => Deno.remove(dataDir, { recursive: true }).catch(() => {}),
    };
    await Deno.chmod(dataDir, 0o755); // the postgres OS user must reach the data directory
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = cleanEnv();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-cron", "--unstable-worker-options", DEMO],
      clearEnv: true,
      env: {
        ...env,
        RECIO_DATA_DIR: dataDir,
        RECIO_HTTP_PORT: String(port),
        RECIO_LOG_LEVEL: "error",
        RECIO_JOBS_ENABLED: "0",
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let stderr = "";
    const drain = (async () => {
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) stderr += c;
    })();
    let sql: postgres.Sql | undefined;
    try {
      const json = async (path: string) => {
        const r = await fetch(`${base}${path}`);
        if (!r.ok) {
          await r.body?.cancel();
          throw new Error(`${path}: ${r.status}`);
        }
        return await r.json();
      };
      // Every actor that starts with the system runs.
      const actors = await eventually(async () => {
        const s = await json("/status");
        const started = s.actors.filter((a: { incarnation: number; id: string }) =>
          !["partition_maintenance", "retention", "backup"].includes(a.id) &&
          !a.id.startsWith("history_backfill") && !a.id.startsWith("kalshi_historical_ingest")
        );
        return started.length >= 7 &&
          started.every((a: { state: string }) => a.state === "running") && started;
      }, { timeoutMs: 90_000, message: "all actors running" });
      assert.ok(actors.some((a: { id: string }) => a.id === "kalshi_account_sync:user_0001"));

      // The database the demo runs on: embedded, in the demo's own folder of the data folder.
      sql = postgres(embeddedUrl(`${dataDir}/demo/pg`), { max: 1, onnotice: () => {} });
      const db = sql;

      for (const sym of ["btc", "eth"]) {
        await eventually(async () => {
          const [r] = await db`select count(*)::int as n from ${db(`live_data.${sym}_price_log`)}
            where momentum is not null and received_at > now() - interval '1 minute'`;
          return r!.n >= 5;
        }, { timeoutMs: 30_000, message: `${sym} rows with momentum` });
      }
      const table = await eventually(async () => {
        const t = await json("/strike-table/BTC");
        return t.stale === false && Date.now() - Date.parse(t.header.last_updated) < 10_000 &&
          t.strikes.length === 21 && t;
      }, { timeoutMs: 30_000, message: "a fresh BTC strike table" });
      assert.equal(table.header.event_ticker.startsWith("KXBTCD-"), true);
      await eventually(async () => {
        const [f] = await db`select count(*)::int as n from user_0001.fills`;
        const [b] = await db`select count(*)::int as n from user_0001.account_balance`;
        const [p] = await db`select count(*)::int as n from user_0001.positions`;
        return f!.n > 0 && b!.n > 0 && p!.n > 0;
      }, { timeoutMs: 30_000, message: "account rows" });

      // Drills, with the token demo mode wrote for the operator.
      const token = (await Deno.readTextFile(`${dataDir}/demo/status-token`)).trim();
      const drill = async (path: string) => {
        const r = await fetch(`${base}/drills/${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(r.status, 202, await r.text());
      };
      const unauthorised = await fetch(`${base}/drills/drop_price_feed`, { method: "POST" });
      await unauthorised.body?.cancel();
      assert.equal(unauthorised.status, 401);

      await drill("crash_actor?actor=price_watchdog:btc");
      await eventually(async () => {
        const a = await json("/actors/price_watchdog:btc");
        return a.state === "running" && a.incarnation >= 2;
      }, { timeoutMs: 30_000, message: "the crashed watchdog is back" });

      await drill("kalshi_401?seconds=5");
      await eventually(async () => {
        const ev = await json("/events?actor=kalshi_account_sync:user_0001&limit=50");
        return ev.some((e: { event: string }) => e.event === "degraded") &&
          ev.some((e: { event: string }) => e.event === "recovered");
      }, { timeoutMs: 60_000, message: "the account sync degraded on 401 and recovered" });

      await drill("drop_price_feed");
      await eventually(async () => {
        const [r] = await db`select count(*)::int as n from live_data.btc_price_log
          where received_at > now() - interval '3 seconds'`;
        return r!.n > 0;
      }, { timeoutMs: 30_000, message: "prices flow again after the feed was dropped" });
      // The database stops for 3 s: the watchdogs buffer and write the outage's seconds after.
      const outageFrom = new Date();
      await drill("stop_database?seconds=3");
      await eventually(async () => {
        const ev = await json("/events?limit=200");
        return ev.some((e: { event: string }) => e.event === "drill_done");
      }, { timeoutMs: 60_000, message: "the database came back" });
      await eventually(async () => {
        const [r] = await db`select count(*)::int as n from live_data.btc_price_log
          where "timestamp" between ${outageFrom} and ${new Date(outageFrom.getTime() + 3_000)}`;
        return r!.n >= 2;
      }, { timeoutMs: 30_000, message: "seconds of the outage written from the buffer" });
      const events = await json("/events?limit=200");
      assert.ok(events.some((e: { event: string }) => e.event === "drill"));
      // Nothing else restarted along the way: the drills were absorbed where they belong.
      const after = await json("/status");
      type Actor = { id: string; restarts: number; restartsByCause: unknown; lastError: unknown };
      for (const a of after.actors as Actor[]) {
        if (a.id === "price_watchdog:btc") continue;
        const why = JSON.stringify({ causes: a.restartsByCause, lastError: a.lastError });
        assert.equal(a.restarts, 0, `${a.id} restarted: ${why}`);
      }
    } finally {
      await sql?.end();
      child.kill("SIGTERM");
      const status = await child.status;
      await drain;
      assert.equal(status.code, 0, stderr.slice(-2000));
    }

    // The live system on the same data folder: nothing of the demo is under its paths, and it
    // starts on an empty database of its own. Its venues are unreachable, so nothing real arrives.
    {
      assert.equal(exists(`${dataDir}/pg`), false, "the demo left nothing in the live pg dir");
      assert.equal(exists(`${dataDir}/output`), false, "nor in the live output dir");
      const livePort = freePort();
      const live = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--unstable-cron", "--unstable-worker-options", START],
        clearEnv: true,
        env: {
          ...env,
          RECIO_DATA_DIR: dataDir,
          RECIO_HTTP_PORT: String(livePort),
          RECIO_LOG_LEVEL: "error",
          RECIO_JOBS_ENABLED: "0",
          RECIO_COINBASE_WS_URL: "ws://127.0.0.1:1/",
          RECIO_COINBASE_REST_URL: "http://127.0.0.1:1/",
          KALSHI_BASE_URL: "http://127.0.0.1:1/trade-api/v2",
          KALSHI_WS_URL: "ws://127.0.0.1:1/trade-api/ws/v2",
        },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let liveErr = "";
      const liveDrain = (async () => {
        for await (const c of live.stderr.pipeThrough(new TextDecoderStream())) liveErr += c;
      })();
      let liveRows: Awaited<ReturnType<typeof demoRows>> | undefined;
      try {
        // Once the supervisor answers, it has checked, migrated and marked its database.
        await eventually(async () => {
          const r = await fetch(`http://127.0.0.1:${livePort}/status`).catch(() => undefined);
          await r?.body?.cancel();
          return r?.ok === true;
        }, { timeoutMs: 60_000, message: "the live system answers" });
        liveRows = await demoRows(embeddedUrl(`${dataDir}/pg`));
      } finally {
        live.kill("SIGTERM");
        const liveStatus = await live.status;
        await liveDrain;
        assert.equal(liveStatus.code, 0, liveErr.slice(-2000));
      }
      assert.deepEqual(liveRows, {
        btc: 0,
        eth: 0,
        fills: 0,
        balances: 0,
        positions: 0,
        orders: 0,
        settlements: 0,
        trades: 0,
        mode: "live",
      });

      // The demo's own database still holds its data (and is marked as the demo's).
      await using demoDb = await startEmbeddedDb({ dir: `${dataDir}/demo/pg` });
      const kept = await demoRows(demoDb.url);
      assert.equal(kept.mode, "demo");
      assert.ok(kept.btc >= 1800 && kept.eth >= 1800, "the seeded and streamed prices");
      assert.ok(kept.fills > 0 && kept.balances > 0 && kept.positions > 0, "the demo account");
    }
  },
});
