/**
 * The journal's read endpoints on real PostgreSQL through `createStatusApp().request()`:
 * `GET /calibration` answers the views' report with the command's filters, and a bad or unknown
 * parameter is a counted 400; `GET /users/:user/pnl` is the running total of the closed live
 * trades in closing order (open, unclosed and legacy trades left out), 400 for a name that is
 * not `user_NNNN` and 404 for a user without a schema.
 */
import assert from "node:assert/strict";
import { createTestDb } from "./_db.ts";
import { insertHistory, insertResults, insertTrades } from "./_journal.ts";
import { fixedView } from "./_view.ts";
import { createStatusApp } from "../supervisor/http.ts";

const T0 = Date.UTC(2026, 0, 5, 17, 0, 0);

Deno.test("GET /calibration - the reliability table, scores and coverage, filtered; bad parameters are 400", async () => {
  await using db = await createTestDb();
  const tickers = ["KXBTCD-26JAN0517-T97000", "KXBTCD-26JAN0517-T97250"];
  await insertResults(db.sql, [
    { ticker: tickers[0]!, result: "yes", closeTime: new Date(T0) },
    { ticker: tickers[1]!, result: "no", closeTime: new Date(T0) },
  ]);
  await insertHistory(db.sql, [
    { ticker: tickers[0]!, cycleAt: new Date(T0 - 5 * 60_000), probability: "90" },
    { ticker: tickers[1]!, cycleAt: new Date(T0 - 5 * 60_000), probability: "92" },
  ]);
  const app = createStatusApp({ view: fixedView("n1"), sql: db.sql });

  const r = await app.request("/calibration?horizon=5&mode=closed_form");
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.deepEqual(
    body.reliability.map((b: { bin_lo: number; n: number; yes_count: number }) => [
      b.bin_lo,
      b.n,
      b.yes_count,
    ]),
    [[90, 2, 1]],
  );
  assert.equal(body.scores.length, 1);
  assert.ok(Math.abs(body.scores[0].brier - (0.1 ** 2 + 0.92 ** 2) / 2) < 1e-9);
  assert.equal(body.coverage[0].ok, 2);
  const later = await (await app.request("/calibration?since=2026-01-06")).json();
  assert.deepEqual(later.scores, []);
  // 16:00 UTC, before the 17:00 close: both markets count.
  const offset = await (await app.request("/calibration?since=2026-01-05T17:00:00%2B01:00")).json();
  assert.deepEqual(offset.scores.map((s: { n: number }) => s.n), [2]);

  for (
    const [query, detail] of [
      ["horizon=7", `invalid query parameter "horizon": expected one of 60, 30, 15, 5, 1`],
      ["since=2026-02-30", `invalid query parameter "since": expected a date`],
      ["since=9999-12-31T23:59:59-14:00", `invalid query parameter "since": expected a date`],
      ["since=1969-12-31", `invalid query parameter "since": expected a date`],
      ["since=275760-09-13T00:00:00Z", `invalid query parameter "since": expected a date`],
      ["horizon=%00", `invalid query parameter "horizon": expected one of`],
      ["mode=x%27%3B", `invalid query parameter "mode": expected a model mode`],
      ["limit=3", `invalid query parameter "limit": unknown parameter`],
    ]
  ) {
    const bad = await app.request(`/calibration?${query}`);
    assert.equal(bad.status, 400, query);
    assert.equal(bad.headers.get("content-type"), "application/problem+json");
    assert.ok((await bad.json()).detail.startsWith(detail), query);
  }
  const metrics = await (await app.request("/metrics")).text();
  assert.match(metrics, /reason="bad_query"[^\n]* 8$/m);
});

Deno.test("GET /users/:user/pnl - the running total of closed live trades; 400 for a bad name, 404 for no schema", async () => {
  await using db = await createTestDb();
  const at = (min: number) => new Date(T0 + min * 60_000);
  await insertTrades(db.sql, [
    { ticker: "A", source: "live", status: "closed", closedAt: at(30), pnl: "-0.25" },
    { ticker: "B", source: "live", status: "settled", closedAt: at(10), pnl: "1.50" },
    { ticker: "C", source: "live", status: "closed", closedAt: at(20), pnl: "0.0400" },
    { ticker: "D", source: "legacy", status: "closed", closedAt: at(15), pnl: "100" },
    { ticker: "E", source: "live", status: "open", closedAt: null, pnl: null },
  ]);
  const app = createStatusApp({ view: fixedView("n1"), sql: db.sql });
  const r = await app.request("/users/user_0001/pnl");
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.user, "user_0001");
  assert.equal(body.trades, 3);
  assert.equal(body.truncated, false);
  assert.equal(Number(body.total_dollars), 1.29);
  assert.deepEqual(
    body.points.map((p: { ticker: string; cumulative_dollars: string; closed_at: string }) => [
      p.ticker,
      Number(p.cumulative_dollars),
      p.closed_at,
    ]),
    [
      ["B", 1.5, at(10).toISOString()],
      ["C", 1.54, at(20).toISOString()],
      ["A", 1.29, at(30).toISOString()],
    ],
  );

  for (const user of ["user_1", "USER_0001", "public", "user_0001x", "user_00%3B01"]) {
    const bad = await app.request(`/users/${user}/pnl`);
    assert.equal(bad.status, 400, user);
    assert.match((await bad.json()).detail, /invalid path parameter "user"/);
  }
  const none = await app.request("/users/user_0002/pnl");
  assert.equal(none.status, 404);
  assert.equal((await none.json()).detail, `unknown user "user_0002"`);
});
