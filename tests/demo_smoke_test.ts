/**
 * Demo mode end to end: `main.ts --demo` (what `deno task demo` runs) as a subprocess on its own
 * embedded database, checked through the HTTP API and the database for about a minute: every
 * actor running, both price logs filling with momentum, a fresh strike table, the account tables,
 * fault drills recovered, and a clean stop.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { freePort } from "../lib/embedded_db.ts";
import { eventually } from "./_eventually.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test({
  name: "demo - the whole system runs offline on simulated venues and recovers from drills",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "recio_demo_" });
    await Deno.chmod(dataDir, 0o755); // the postgres OS user must reach the data directory
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = Object.fromEntries(
      Object.entries(Deno.env.toObject()).filter(([k]) =>
        !k.startsWith("RECIO_") && k !== "DATABASE_URL" && k !== "STATUS_TOKEN" &&
        !k.startsWith("KALSHI_")
      ),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-cron", "--unstable-worker-options", MAIN, "--demo"],
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

      // The database the demo runs on (embedded, in the temporary data directory).
      const password = (await Deno.readTextFile(`${dataDir}/pg.password`)).trim();
      const pgPort = (await Deno.readTextFile(`${dataDir}/pg/postmaster.pid`)).split("\n")[3];
      sql = postgres(
        `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/postgres`,
        { max: 1, onnotice: () => {} },
      );
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
      for (const a of after.actors as { id: string; restarts: number }[]) {
        if (a.id !== "price_watchdog:btc") assert.equal(a.restarts, 0, `${a.id} restarted`);
      }
    } finally {
      await sql?.end();
      child.kill("SIGTERM");
      const status = await child.status;
      await drain;
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      assert.equal(status.code, 0, stderr.slice(-2000));
    }
  },
});
