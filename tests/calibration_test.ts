/**
 * The calibration views of migration 0103 on real PostgreSQL, with a synthetic history whose
 * frequencies are known: counts, realized frequencies, Wilson bounds, Brier score and log loss
 * against values computed by hand; each horizon takes the newest row at or before its instant
 * and none older than 2 minutes before it; unsettled markets and results other than yes/no are
 * left out; probabilities outside 0..100 % are left out and counted. Then `deno task
 * calibration`: its table, its filters, and one line and exit 2 for each bad argument.
 */
import assert from "node:assert/strict";
import { createTestDb } from "./_db.ts";
import { insertHistory, insertResults } from "./_journal.ts";
import { runDeno } from "./_process.ts";
import { readCalibration } from "../lib/calibration.ts";
import type { Sql } from "../lib/db.ts";

const MIN = 60_000;
/** The first market's close; the others close an hour apart. */
const T0 = Date.UTC(2026, 0, 5, 17, 0, 0);

/** Within 1e-9 (the views compute in double precision). */
function near(actual: number | null | undefined, expected: number, what: string) {
  assert.ok(
    actual != null && Math.abs(actual - expected) < 1e-9,
    `${what}: ${actual} != ${expected}`,
  );
}

/**
 * Markets settled an hour apart, each with one history row 5 min 10 s before its close (so only
 * the 5-minute horizon finds it): `[probability %, outcome, mode]`.
 */
async function settledAtFive(sql: Sql, markets: [string | null, "yes" | "no", string?][]) {
  const closes = markets.map((_, i) => new Date(T0 + i * 60 * MIN));
  const ticker = (i: number) => `KXBTCD-26JAN05H${String(i).padStart(3, "0")}-T${97000 + i}`;
  await insertResults(
    sql,
    markets.map(([, result], i) => ({
      ticker: ticker(i),
      result,
      closeTime: closes[i]!,
    })),
  );
  await insertHistory(
    sql,
    markets.map(([probability, , modelMode], i) => ({
      ticker: ticker(i),
      cycleAt: new Date(closes[i]!.getTime() - 5 * MIN - 10_000),
      probability,
      ...(modelMode ? { modelMode } : {}),
    })),
  );
}

const repeat = <T>(n: number, v: T): T[] => Array.from({ length: n }, () => v);

Deno.test("calibration views - reliability bins, Wilson bounds, Brier and log loss of a known history", async () => {
  await using db = await createTestDb();
  await settledAtFive(db.sql, [
    // [0,5): p = 0 once right, once wrong (the log loss clamps 0 to 1e-6).
    ["0", "yes"],
    ["0", "no"],
    // [5,10): exactly 5 % is the bin's lower bound.
    ["5", "no"],
    // [10,15): 12 %, 3 of 10 happened.
    ...repeat(3, ["12", "yes"] as ["12", "yes"]),
    ...repeat(7, ["12", "no"] as ["12", "no"]),
    // [80,85): mean 82 %, 4 of 5 happened.
    ["80", "yes"],
    ["80", "yes"],
    ["84", "yes"],
    ["84", "no"],
    ["82", "yes"],
    // [95,100]: 100 % falls in the last bin.
    ["95", "yes"],
    ["100", "yes"],
    // Another model mode: 50 %, 2 of 4.
    ["50", "yes", "empirical"],
    ["50", "no", "empirical"],
    ["50", "yes", "empirical"],
    ["50", "no", "empirical"],
  ]);
  const r = await readCalibration(db.sql);
  // The views say the same as the reader.
  const plain = (rows: readonly object[]) => rows.map((row) => ({ ...row }));
  assert.deepEqual(
    plain(
      await db.sql`select * from analytics.calibration_reliability
      order by model_mode, horizon_min desc, bin_lo`,
    ),
    r.reliability,
  );
  assert.deepEqual(
    plain(
      await db.sql`select * from analytics.calibration_scores
      order by model_mode, horizon_min desc`,
    ),
    r.scores,
  );
  assert.deepEqual(
    plain(await db.sql`select * from analytics.calibration_coverage order by horizon_min desc`),
    r.coverage,
  );

  const bins = r.reliability.map((b) => [b.model_mode, b.horizon_min, b.bin_lo, b.bin_hi, b.n]);
  assert.deepEqual(bins, [
    ["closed_form", 5, 0, 5, 2],
    ["closed_form", 5, 5, 10, 1],
    ["closed_form", 5, 10, 15, 10],
    ["closed_form", 5, 80, 85, 5],
    ["closed_form", 5, 95, 100, 2],
    ["empirical", 5, 50, 55, 4],
  ]);
  // Wilson 95 % (z = 1.96) bounds worked out by hand for k of n: 1/2, 0/1, 3/10, 4/5, 2/2, 2/4.
  const expected: [number, number, number, number, number][] = [
    // yes, mean predicted, realized, wilson_lo, wilson_hi
    [1, 0, 0.5, 0.094529, 0.905471],
    [0, 0.05, 0, 0, 0.793457],
    [3, 0.12, 0.3, 0.107789, 0.603227],
    [4, 0.82, 0.8, 0.375528, 0.963777],
    [2, 0.975, 1, 0.342372, 1],
    [2, 0.5, 0.5, 0.150036, 0.849964],
  ];
  r.reliability.forEach((b, i) => {
    const [k, mean, realized, lo, hi] = expected[i]!;
    assert.equal(b.yes_count, k, `bin ${b.bin_lo}`);
    near(b.mean_predicted, mean, `mean predicted ${b.bin_lo}`);
    near(b.realized, realized, `realized ${b.bin_lo}`);
    assert.ok(Math.abs(b.wilson_lo - lo) < 5e-7, `wilson_lo ${b.bin_lo}: ${b.wilson_lo}`);
    assert.ok(Math.abs(b.wilson_hi - hi) < 5e-7, `wilson_hi ${b.bin_lo}: ${b.wilson_hi}`);
  });

  const cf = r.scores.find((s) => s.model_mode === "closed_form")!;
  assert.equal(cf.horizon_min, 5);
  assert.equal(cf.n, 20);
  assert.equal(cf.bad_probability, 0);
  near(cf.base_rate, 10 / 20, "base rate");
  // Squared errors: 1 + 0 | 0.05² | 3·0.88² + 7·0.12² | 0.2² + 0.2² + 0.16² + 0.84² + 0.18² |
  // 0.05² + 0.
  near(cf.brier, (1 + 0.0025 + 2.424 + 0.8436 + 0.0025) / 20, "brier");
  const ln = Math.log;
  const eps = 1e-6;
  const logLoss = -(ln(eps) + ln(1 - eps) + ln(0.95) + 3 * ln(0.12) + 7 * ln(0.88) +
    2 * ln(0.8) + ln(0.84) + ln(0.16) + ln(0.82) + ln(0.95) + ln(1 - eps)) / 20;
  near(cf.log_loss, logLoss, "log loss");
  const emp = r.scores.find((s) => s.model_mode === "empirical")!;
  assert.equal(emp.n, 4);
  near(emp.brier, 0.25, "brier at 50 %");
  near(emp.log_loss, Math.LN2, "log loss at 50 %");
  assert.deepEqual(r.scores.map((s) => [s.model_mode, s.horizon_min]), [
    ["closed_form", 5],
    ["empirical", 5],
  ]);

  // Every other horizon found no row: 5 min 10 s is after 15, 30 and 60 minutes before the
  // close, and more than 2 minutes before 1 minute before it.
  assert.deepEqual(
    r.coverage.map((c) => [c.horizon_min, c.settled, c.ok, c.no_row, c.bad_probability]),
    [[60, 24, 0, 24, 0], [30, 24, 0, 24, 0], [15, 24, 0, 24, 0], [5, 24, 24, 0, 0], [
      1,
      24,
      0,
      24,
      0,
    ]],
  );

  // The filters: one mode, one horizon, markets closing from an instant on.
  const emp5 = await readCalibration(db.sql, { mode: "empirical", horizon: 5 });
  assert.deepEqual(emp5.scores.map((s) => s.n), [4]);
  assert.equal(emp5.reliability.length, 1);
  assert.deepEqual(emp5.coverage.map((c) => c.horizon_min), [5]);
  // The 21st market (index 20) and later: the four empirical ones.
  const late = await readCalibration(db.sql, { since: new Date(T0 + 20 * 60 * MIN) });
  assert.deepEqual(late.scores.map((s) => [s.model_mode, s.n]), [["empirical", 4]]);
  assert.equal((await readCalibration(db.sql, { horizon: 60 })).scores.length, 0);
});

Deno.test("calibration_points - each horizon takes the newest row at or before it, none older than 2 minutes before it", async () => {
  await using db = await createTestDb();
  const ticker = "KXBTCD-26JAN0517-T97250";
  const at = (offsetMs: number) => new Date(T0 + offsetMs);
  await insertResults(db.sql, [{ ticker, result: "no", closeTime: at(0) }]);
  await insertHistory(db.sql, [
    { ticker, cycleAt: at(-60 * MIN - 30_000), probability: "40" }, // 60: taken
    { ticker, cycleAt: at(-60 * MIN + 10_000), probability: "41" }, // after 60's instant
    { ticker, cycleAt: at(-32 * MIN - 1_000), probability: "30" }, // 1 s too old for 30
    { ticker, cycleAt: at(-16 * MIN), probability: "16" }, // older than the next
    { ticker, cycleAt: at(-15 * MIN), probability: "15" }, // 15: exactly at the instant
    { ticker, cycleAt: at(-7 * MIN), probability: "7" }, // 5: exactly 2 minutes before it
    { ticker, cycleAt: at(-3 * MIN - 1_000), probability: "3" }, // 1 s too old for 1
    { ticker, cycleAt: at(-MIN + 1_000), probability: "99" }, // after 1's instant
    // Another market's row at the very instant: not this ticker's.
    { ticker: "KXBTCD-26JAN0517-T97500", cycleAt: at(-30 * MIN), probability: "77" },
  ]);
  const rows = await db.sql<
    { horizon_min: number; cycle_at: Date | null; probability: string | null; status: string }[]
  >`select horizon_min, cycle_at, probability, status from analytics.calibration_points
    where ticker = ${ticker} order by horizon_min desc`;
  assert.deepEqual(rows.map((r) => [r.horizon_min, r.cycle_at?.getTime() ?? null, r.probability]), [
    [60, T0 - 60 * MIN - 30_000, "40"],
    [30, null, null],
    [15, T0 - 15 * MIN, "15"],
    [5, T0 - 7 * MIN, "7"],
    [1, null, null],
  ]);
  assert.deepEqual(rows.map((r) => r.status), ["ok", "no_row", "ok", "ok", "no_row"]);
});

Deno.test("calibration views - leave out unsettled markets and results other than yes/no, and count them", async () => {
  await using db = await createTestDb();
  const close = new Date(T0);
  const before = new Date(T0 - 5 * MIN - 10_000);
  const tickers = Array.from({ length: 8 }, (_, i) => `KXBTCD-26JAN0517-T${97000 + i}`);
  await insertResults(db.sql, [
    { ticker: tickers[0]!, result: "yes", closeTime: close },
    { ticker: tickers[1]!, result: "void", closeTime: close },
    { ticker: tickers[2]!, result: "scalar", closeTime: close },
    { ticker: tickers[3]!, result: "maybe", closeTime: close }, // a value Kalshi may add later
    { ticker: tickers[4]!, result: "no", closeTime: null }, // settled without a close time
    { ticker: tickers[5]!, result: null, closeTime: close }, // not settled yet
    { ticker: tickers[6]!, result: "", closeTime: close }, // Kalshi's "no result yet"
    // tickers[7] is not settled: no result row at all.
  ]);
  await insertHistory(
    db.sql,
    tickers.map((ticker) => ({ ticker, cycleAt: before, probability: "60" })),
  );
  const points = await db.sql<{ ticker: string }[]>`
    select distinct ticker from analytics.calibration_points`;
  assert.deepEqual(points.map((p) => p.ticker), [tickers[0]]);
  const r = await readCalibration(db.sql, { horizon: 5 });
  assert.deepEqual(r.scores.map((s) => s.n), [1]);
  assert.deepEqual(r.reliability.map((b) => [b.bin_lo, b.n]), [[60, 1]]);
  assert.deepEqual(r.coverage, [{
    horizon_min: 5,
    settled: 1,
    ok: 1,
    no_row: 0,
    bad_probability: 0,
    other_result: 3,
    no_close_time: 1,
  }]);
});

Deno.test("calibration views - probabilities outside 0..100 % (or none) are left out and counted", async () => {
  await using db = await createTestDb();
  await settledAtFive(db.sql, [["-5", "no"], ["130", "yes"], [null, "yes"], ["70", "yes"]]);
  // A bad newest row is not replaced by an older good one: the model's view then was bad.
  const ticker = "KXBTCD-26JAN05H900-T1";
  await insertResults(db.sql, [{ ticker, result: "yes", closeTime: new Date(T0) }]);
  await insertHistory(db.sql, [
    { ticker, cycleAt: new Date(T0 - 6 * MIN), probability: "30" },
    { ticker, cycleAt: new Date(T0 - 5 * MIN - 1_000), probability: "100.5" },
  ]);
  const r = await readCalibration(db.sql, { horizon: 5 });
  assert.deepEqual(r.reliability.map((b) => [b.bin_lo, b.n]), [[70, 1]]);
  assert.deepEqual(r.scores.map((s) => [s.n, s.bad_probability]), [[1, 4]]);
  near(r.scores[0]!.brier, 0.09, "brier of the one good point");
  assert.equal(r.coverage[0]!.bad_probability, 4);
  const [p] = await db.sql<{ status: string; p_yes: string | null }[]>`
    select status, p_yes from analytics.calibration_points
    where ticker = ${ticker} and horizon_min = 5`;
  assert.deepEqual(p, { status: "bad_probability", p_yes: null });
});

const ROOT = new URL("../", import.meta.url).pathname;
/** Runs the command as `deno task calibration` does (`deno run -A commands/calibration.ts`). */
function task(args: string[], env: Record<string, string> = {}) {
  return runDeno(["run", "-A", "commands/calibration.ts", ...args], {
    cwd: ROOT,
    env: { NO_COLOR: "1", RECIO_LOG_LEVEL: "error", ...env },
    clearEnv: true,
  });
}

Deno.test("deno task calibration - prints the reliability table, the scores and what was left out", async () => {
  await using db = await createTestDb();
  await settledAtFive(db.sql, [
    ...repeat(3, ["12", "yes"] as ["12", "yes"]),
    ...repeat(7, ["12", "no"] as ["12", "no"]),
    ["250", "yes"],
  ]);
  const r = await task(["--", "--horizon", "5", "--mode", "closed_form"], { DATABASE_URL: db.url });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.ok(
    lines.some((l) => /^closed_form\s+5m\s+10-15\s+10\s+12\.0\s+30\.0\s+10\.8-60\.3$/.test(l)),
    r.stdout,
  );
  // Brier (3·0.88² + 7·0.12²)/10 = 0.2424; log loss −(3 ln 0.12 + 7 ln 0.88)/10 = 0.7256.
  assert.ok(
    lines.some((l) => /^closed_form\s+5m\s+10\s+0\.2424\s+0\.7256\s+30\.0\s+1$/.test(l)),
    r.stdout,
  );
  assert.match(r.stdout, /Left out: 1 points with a probability outside 0-100 %/);

  const none = await task(["--", "--since", "2027-01-01"], { DATABASE_URL: db.url });
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /^No settled market has a model probability/);
});

Deno.test("deno task calibration - a bad argument is one line and exit 2, before any database", async () => {
  const cases: [string[], string][] = [
    [["--bogus"], "Cannot run calibration: Unknown option '--bogus'"],
    [["--horizon", "7"], "--horizon: expected one of 60, 30, 15, 5, 1 (minutes before the close)"],
    [
      ["--horizon", "5.0"],
      "--horizon: expected one of 60, 30, 15, 5, 1 (minutes before the close)",
    ],
    [
      ["--since", "yesterday"],
      "--since: expected a date (YYYY-MM-DD, UTC) or a time with its offset (ISO 8601), 1970-9999",
    ],
    [
      ["--since", "2026-02-30"],
      "--since: expected a date (YYYY-MM-DD, UTC) or a time with its offset (ISO 8601), 1970-9999",
    ],
    [
      ["--mode", "Closed Form"],
      "--mode: expected a model mode (1-40 lower-case letters, digits or _)",
    ],
  ];
  for (const [args, line] of cases) {
    const r = await task(["--", ...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trim(), line);
  }
  const r = await task(["--", "--horizon", "15"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^Cannot run calibration: DATABASE_URL is not set/);
});
