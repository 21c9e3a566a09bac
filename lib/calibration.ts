/**
 * The model's calibration against settled markets, read from migration 0103's
 * `analytics.calibration_since` (the function its views project) in one pass, for
 * `deno task calibration` and `GET /calibration`: one reader, one parser of the filters (model
 * mode, horizon, since), one text rendering.
 *
 * @example
 * ```ts ignore
 * const filter = parseCalibrationFilter({ horizon: "5" });
 * if (typeof filter === "string") throw new Error(filter);
 * console.log(formatCalibration(await readCalibration(sql, filter)));
 * ```
 *
 * @module
 */
import type { Sql } from "./db.ts";

/** The horizons of the views, in minutes before the close. */
export const HORIZONS = [60, 30, 15, 5, 1] as const;

/** Which points to keep: a model mode, a horizon, markets closing at or after `since`. */
export interface CalibrationFilter {
  mode?: string;
  horizon?: number;
  since?: Date;
}

/** One bin of the reliability table (percent bounds; fractions otherwise). */
export interface ReliabilityRow {
  model_mode: string | null;
  horizon_min: number;
  bin_lo: number;
  bin_hi: number;
  n: number;
  yes_count: number;
  mean_predicted: number;
  realized: number;
  wilson_lo: number;
  wilson_hi: number;
  brier: number;
  log_loss: number;
}

/** Brier score and log loss of one model mode at one horizon. */
export interface ScoreRow {
  model_mode: string | null;
  horizon_min: number;
  n: number;
  /** Points whose history row had a probability outside 0..100 % (or none): left out. */
  bad_probability: number;
  base_rate: number | null;
  mean_predicted: number | null;
  brier: number | null;
  log_loss: number | null;
}

/** What became of the markets at one horizon (see the migration). */
export interface CoverageRow {
  horizon_min: number;
  settled: number;
  ok: number;
  no_row: number;
  bad_probability: number;
  other_result: number;
  no_close_time: number;
}

/** The whole calibration report. */
export interface CalibrationReport {
  reliability: ReliabilityRow[];
  scores: ScoreRow[];
  coverage: CoverageRow[];
}

/** The last instant `since` may be (9999-12-31T23:59:59.999Z). */
const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Whether the `YYYY-MM-DD` that `text` starts with is a day of the calendar (not 2026-02-30). */
function realDay(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split("-").map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** The filters as text (command flags, query parameters) → a filter, or what is wrong. */
export function parseCalibrationFilter(
  raw: { mode?: string | undefined; horizon?: string | undefined; since?: string | undefined },
): CalibrationFilter | string {
  const out: CalibrationFilter = {};
  if (raw.mode !== undefined) {
    if (!/^[a-z0-9_]{1,40}$/.test(raw.mode)) {
      return "mode: expected a model mode (1-40 lower-case letters, digits or _)";
    }
    out.mode = raw.mode;
  }
  if (raw.horizon !== undefined) {
    const h = Number(raw.horizon);
    if (!/^\d{1,2}$/.test(raw.horizon) || !(HORIZONS as readonly number[]).includes(h)) {
      return `horizon: expected one of ${HORIZONS.join(", ")} (minutes before the close)`;
    }
    out.horizon = h;
  }
  if (raw.since !== undefined) {
    const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/
      .test(raw.since);
    const at = ok ? new Date(raw.since.length === 10 ? `${raw.since}T00:00:00Z` : raw.since) : null;
    const ms = at?.getTime() ?? NaN;
    // 1970 through 9999 (UTC): the instants both PostgreSQL and an ISO 8601 string hold.
    if (!(ms >= 0 && ms <= LAST_INSTANT) || !realDay(raw.since)) {
      return "since: expected a date (YYYY-MM-DD, UTC) or a time with its offset (ISO 8601), 1970-9999";
    }
    out.since = new Date(ms);
  }
  return out;
}

/** One row of `analytics.calibration_since`: a bin (`bin_lo` set) or a mode's total (null). */
type GroupRow = ReliabilityRow & { bad_probability: number; no_row: number } & {
  bin_lo: number | null;
  bin_hi: number | null;
};

/**
 * Reads the report in one pass over the points (`analytics.calibration_since`, the function the
 * views project) and the market counts, in one snapshot: bins and scores of the filter's mode
 * and horizon, ordered by mode, horizon (longest first), bin; coverage per horizon over all
 * modes.
 */
export async function readCalibration(
  sql: Sql,
  filter: CalibrationFilter = {},
): Promise<CalibrationReport> {
  const since = filter.since ?? null;
  const horizon = filter.horizon ?? null;
  const { groups, markets } = await sql.begin(
    "isolation level repeatable read read only",
    async (tx) => {
      // A year of points is a million index probes, which the planner prices high enough to JIT-
      // compile the expressions: a second or more spent to save nothing.
      await tx`set local jit = off`;
      const groups = await tx<GroupRow[]>`
        select * from analytics.calibration_since(
          coalesce(${since}::timestamptz, '-infinity'), ${horizon}::int)
        order by model_mode, horizon_min desc, bin_lo nulls first`;
      const [markets] = await tx<
        { settled: number; other_result: number; no_close_time: number }[]
      >`
        select * from analytics.calibration_markets_since(
          coalesce(${since}::timestamptz, '-infinity'))`;
      return { groups: [...groups], markets: markets! };
    },
  );
  const mine = groups.filter((g) => filter.mode === undefined || g.model_mode === filter.mode);
  const reliability: ReliabilityRow[] = mine.filter((g) => g.bin_lo !== null).map((g) => ({
    model_mode: g.model_mode,
    horizon_min: g.horizon_min,
    bin_lo: g.bin_lo!,
    bin_hi: g.bin_hi!,
    n: g.n,
    yes_count: g.yes_count,
    mean_predicted: g.mean_predicted,
    realized: g.realized,
    wilson_lo: g.wilson_lo,
    wilson_hi: g.wilson_hi,
    brier: g.brier,
    log_loss: g.log_loss,
  }));
  const scores: ScoreRow[] = mine
    .filter((g) => g.bin_lo === null && (g.n > 0 || g.bad_probability > 0))
    .map((g) => ({
      model_mode: g.model_mode,
      horizon_min: g.horizon_min,
      n: g.n,
      bad_probability: g.bad_probability,
      base_rate: g.realized,
      mean_predicted: g.mean_predicted,
      brier: g.brier,
      log_loss: g.log_loss,
    }));
  const coverage = HORIZONS.filter((h) => horizon === null || h === horizon).map((h) => {
    const totals = groups.filter((g) => g.bin_lo === null && g.horizon_min === h);
    const sum = (k: "n" | "no_row" | "bad_probability") => totals.reduce((t, g) => t + g[k], 0);
    return {
      horizon_min: h,
      settled: markets.settled,
      ok: sum("n"),
      no_row: sum("no_row"),
      bad_probability: sum("bad_probability"),
      other_result: markets.other_result,
      no_close_time: markets.no_close_time,
    };
  });
  return { reliability, scores, coverage };
}

const pct = (v: number | null) => (v === null ? "-" : (v * 100).toFixed(1));
const dec = (v: number | null) => (v === null ? "-" : v.toFixed(4));

/** Columns padded to their widest cell, the first left-aligned, the others right-aligned. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows]
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))))
    .map((r) => r.join("  ").trimEnd())
    .join("\n");
}

/** The report as text: the reliability table, the scores, and what was left out. */
export function formatCalibration(report: CalibrationReport): string {
  const out: string[] = [];
  if (report.reliability.length === 0 && report.scores.length === 0) {
    out.push("No settled market has a model probability at these horizons yet.");
  } else {
    out.push("Reliability (percent: predicted YES probability in 5-point bins, 95% Wilson CI)");
    out.push(table(
      ["MODE", "HORIZON", "BIN", "N", "PREDICTED", "REALIZED", "CI95"],
      report.reliability.map((r) => [
        r.model_mode ?? "-",
        `${r.horizon_min}m`,
        `${r.bin_lo}-${r.bin_hi}`,
        String(r.n),
        pct(r.mean_predicted),
        pct(r.realized),
        `${pct(r.wilson_lo)}-${pct(r.wilson_hi)}`,
      ]),
    ));
    out.push("", "Scores (lower is better)");
    out.push(table(
      ["MODE", "HORIZON", "N", "BRIER", "LOG LOSS", "BASE RATE", "BAD PROB"],
      report.scores.map((s) => [
        s.model_mode ?? "-",
        `${s.horizon_min}m`,
        String(s.n),
        dec(s.brier),
        dec(s.log_loss),
        pct(s.base_rate),
        String(s.bad_probability),
      ]),
    ));
  }
  const bad = report.scores.reduce((t, s) => t + s.bad_probability, 0);
  const noRow = report.coverage.reduce((t, c) => t + c.no_row, 0);
  const other = report.coverage[0]?.other_result ?? 0;
  const noClose = report.coverage[0]?.no_close_time ?? 0;
  out.push(
    "",
    `Left out: ${bad} points with a probability outside 0-100 %, ${noRow} with no history row ` +
      `within 2 min before the horizon; ${other} markets settled other than yes/no, ` +
      `${noClose} without a close time.`,
  );
  return out.join("\n");
}
