/**
 * The status page end to end in headless Chromium (Debian's `chromium` package driven by
 * `playwright-core`; nothing is downloaded): the real supervisor process on a real database, the
 * page loaded once, a test actor that crashes, and its restart appearing live over
 * `GET /events/stream` without a reload; a committed price row and strike table (with their
 * `NOTIFY`) shown from `GET /market/stream` without a poll; the model's reliability diagram and the first user's
 * P&L curve drawn from the rows the test writes.
 *
 * Set `RECIO_UPDATE_SCREENSHOT=1` to refresh `docs/status_page.png`.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { createTestDb } from "./_db.ts";
import { eventually } from "./_eventually.ts";
import { insertHistory, insertResults, insertTrades } from "./_journal.ts";
import { startSupervisor, TEST_ACTOR, writeChildrenFile } from "./_system.ts";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = new URL("../docs/status_page.png", import.meta.url);

Deno.test({
  name:
    "status page - shows the tree, prices and strikes, and a crash's restart live without reload",
  ignore: !existsSync(CHROMIUM),
  sanitizeResources: false, // playwright's pipes to the browser process
  sanitizeOps: false,
  async fn() {
    await using db = await createTestDb();
    await db.sql`insert into live_data.btc_price_log
      ("timestamp", price, momentum, delta_1m, delta_2m, delta_3m, delta_4m, delta_15m, delta_30m)
      values (date_trunc('second', now()), '97123.45', '0.012345', '0.010000', '0.020000',
              '0.015000', '0.005000', '-0.030000', '0.120000')`;
    await db.sql`insert into live_data.strike_table_header (symbol, current_price, ttc_seconds,
        event_ticker, market_status, stale, stale_reason, last_updated)
      values ('BTC', '97123.45', 1800, 'KXBTCD-26JAN0117', 'open', true, 'price feed lagging',
              now())`;
    await db.sql`insert into live_data.strike_table ${
      db.sql([96500, 97000, 97500].map((strike, i) => ({
        symbol: "BTC",
        strike: String(strike),
        buffer_pct: String((97123.45 - strike) / 971.2345),
        probability: String(90 - i * 30),
        yes_ask: String(92 - i * 30),
        no_ask: String(9 + i * 30),
        active_side: i < 2 ? "yes" : "no",
        ticker: `KXBTCD-26JAN0117-T${strike - 0.01}`,
      })))
    }`;
    // Settled markets with the model's view 5 and 15 minutes before the close, and trades.
    const close = Date.UTC(2026, 0, 5, 17);
    const markets = [["T97000", "20", "no"], ["T97250", "22", "yes"], ["T97500", "70", "yes"]];
    await insertResults(
      db.sql,
      markets.map(([t, , result]) => ({
        ticker: `KXBTCD-26JAN0517-${t}`,
        result: result!,
        closeTime: new Date(close),
      })),
    );
    await insertHistory(
      db.sql,
      markets.flatMap(([t, p]) =>
        [5, 15].map((h) => ({
          ticker: `KXBTCD-26JAN0517-${t}`,
          cycleAt: new Date(close - h * 60_000),
          probability: p!,
        }))
      ),
    );
    await insertTrades(
      db.sql,
      [["A", "1.50"], ["B", "0.04"], ["C", "-0.25"]].map(([t, pnl], i) => ({
        ticker: t!,
        source: "live",
        status: "closed",
        closedAt: new Date(close + i * 600_000),
        pnl: pnl!,
      })),
    );
    const file = await writeChildrenFile([
      {
        id: "steady",
        module: TEST_ACTOR,
        heartbeatMs: 100,
        hangAfterMs: 2_000,
        args: { dataEveryMs: 200 },
        freshness: 5_000,
      },
      {
        id: "crasher",
        module: TEST_ACTOR,
        dependsOn: ["steady"],
        heartbeatMs: 100,
        hangAfterMs: 2_000,
        args: { crashAfterMs: 2_500 },
        backoff: { minMs: 100, maxMs: 500 },
        intensity: { maxRestarts: 100, periodMs: 60_000 },
      },
      // Stands in for the first configured user's account sync: the page takes its user.
      { id: "kalshi_account_sync:user_0001", module: TEST_ACTOR, heartbeatMs: 100 },
    ]);
    await using sup = startSupervisor({ DATABASE_URL: db.url, RECIO_CHILDREN_FILE: file });
    const userDataDir = await Deno.makeTempDir({ prefix: "recio-chromium-" });
    // A fresh profile (playwright passes it as --user-data-dir).
    const browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      viewport: { width: 1280, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const url = await sup.url;
      const page = await browser.newPage();
      await page.goto(url);
      await page.evaluate(() => ((globalThis as unknown as { loadedOnce: number }).loadedOnce = 1));

      // The tree: both actors, the crasher under the one it depends on.
      await page.waitForSelector("tr[data-actor='steady'][data-state='running']");
      await page.waitForSelector("tr[data-actor='crasher']");
      const ids = await page.$$eval("#actors tr", (rows) => rows.map((r) => r.dataset.actor));
      assert.deepEqual(ids, ["steady", "crasher", "kalshi_account_sync:user_0001"]);
      assert.match(await page.textContent("tr[data-actor='crasher'] td") ?? "", /└─ crasher/);
      await page.waitForSelector("#live.ok");

      // Prices and the strike table (ETH has no rows: "no data").
      await page.waitForSelector("#price-btc[data-state='data']");
      assert.match(await page.textContent("#price-btc") ?? "", /\$97,123\.45.*momentum \+0\.012%/s);
      await page.waitForSelector("#price-eth[data-state='none']");
      assert.match(await page.textContent("#price-eth") ?? "", /no data/);
      // The cluster of one: this node, alive.
      await page.waitForSelector("#cluster tr[data-node]");
      assert.match(await page.textContent("#cluster") ?? "", /this node.*alive/s);
      await page.waitForSelector("#strikes[data-state='stale']");
      assert.equal(await page.$$eval("#strikes tr", (r) => r.length), 3);
      assert.match(await page.textContent("#strike-head") ?? "", /stale price feed lagging/);

      // Then prices and the strike table come over GET /market/stream as they are committed,
      // with no poll of /prices or /strike-table (the rows and NOTIFYs as the actors send them).
      await page.waitForSelector("#market-live.ok");
      const polled: string[] = [];
      page.on("request", (r) => {
        const path = new URL(r.url()).pathname;
        if (/^\/(prices|strike-table)\//.test(path)) polled.push(path);
      });
      await db.sql`with r as (
          insert into live_data.btc_price_log ("timestamp", price)
          values (date_trunc('second', now()) + interval '1 second', '98765.43')
          returning "timestamp", price)
        select pg_notify('recio_price_btc', json_build_object('symbol', 'btc',
          'timestamp', to_json("timestamp") #>> '{}', 'price', price::text, 'rows', 1)::text)
        from r`;
      await page.waitForFunction(
        `(document.querySelector("#price-btc")?.textContent ?? "").includes("$98,765.43")`,
      );
      assert.equal(await page.getAttribute("#price-btc", "data-via"), "stream");
      await db.sql`with h as (
          update live_data.strike_table_header set stale = false, stale_reason = null,
            current_price = '98765.43', last_updated = now() where symbol = 'BTC'
          returning last_updated)
        select pg_notify('recio_strike_table_btc', json_build_object('symbol', 'btc',
          'cycleAt', to_json(last_updated) #>> '{}')::text) from h`;
      await page.waitForSelector("#strikes[data-state='fresh'][data-via='stream']");
      assert.match(await page.textContent("#strike-head") ?? "", /price \$98,765\.43/);
      assert.deepEqual(polled, [], "neither was polled");

      // The reliability diagram (two bins at each of two horizons) and the P&L curve of user_0001.
      await page.waitForSelector("#calibration[data-state='data'] svg");
      const dots = await page.$$eval(
        "#calibration circle",
        (cs) => cs.map((c) => `${c.dataset.horizon}:${c.dataset.bin}:${c.dataset.n}`).sort(),
      );
      assert.deepEqual(dots, ["15:20:2", "15:70:1", "5:20:2", "5:70:1"]);
      assert.equal(await page.$$eval("#calibration-scores tr", (r) => r.length), 2);
      await page.waitForSelector("#pnl[data-state='data'] polyline[data-points='3']");
      assert.match(await page.textContent("#pnl-total") ?? "", /total \$1\.29 over 3 trades/);
      assert.match(await page.textContent("#pnl-user") ?? "", /user_0001/);

      // The crash and its restart arrive over the event stream.
      await page.waitForSelector(
        "#events tr[data-live='1'][data-actor='crasher'][data-event='restart']",
        { timeout: 30_000 },
      );
      await page.waitForFunction(
        `Number(document.querySelector("tr[data-actor='crasher']")?.dataset.incarnation) >= 2`,
        undefined,
        { timeout: 10_000 },
      );
      const top = await page.$$eval("#events tr", (rows) => rows.map((r) => r.dataset.at ?? ""));
      assert.deepEqual(top, [...top].sort().reverse(), "newest first");
      assert.equal(
        await page.evaluate(() => (globalThis as unknown as { loadedOnce?: number }).loadedOnce),
        1,
        "the page was not reloaded",
      );
      // The database agrees with what the page shows.
      const restarts = await eventually(async () =>
        (await db.sql`select count(*)::int as n from system.supervisor_events
          where actor_id = 'crasher' and event = 'restart'`)[0]!.n
      );
      assert.ok(restarts >= 1);

      const png = await page.screenshot({ fullPage: true });
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
      if (Deno.env.get("RECIO_UPDATE_SCREENSHOT") === "1") await Deno.writeFile(SCREENSHOT, png);
    } finally {
      await browser.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
      await Deno.remove(file);
    }
    assert.equal(await sup.stop(), 0, sup.stderr());
  },
});
