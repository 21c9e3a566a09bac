/**
 * The empirical model: the old system's fingerprint idea done properly. From 1-minute candles,
 * for every start minute, its momentum bucket and every horizon t = 1..60 minutes, the move of
 * the close t minutes later is counted into 0.05 %-wide bins (separately up and down), each start
 * weighted by its year (recent years count more). Cumulative sums give
 * P(move ≥ +x %) and P(move ≤ −x %) for x = 0.00 … 2.00 in 0.05 steps, per bucket and horizon;
 * the lookup interpolates bilinearly in (minutes to close, x). Momentum uses the live definition
 * (weights .30/.25/.20/.15/.05/.05 over 1/2/3/4/15/30-minute deltas, renormalised); its bucket is
 * `round(momentum % × 100)` clamped to −30..30, plus an `all` baseline. Buckets with too few
 * samples fall back to the nearest bucket that has enough, then to the baseline.
 *
 * @module
 */

/** Horizons in minutes. */
export const MAX_MINUTES = 60;
/** Grid step and maximum of the move threshold, in percent. */
export const STEP_PCT = 0.05;
export const MAX_PCT = 2;
export const GRID = Math.round(MAX_PCT / STEP_PCT) + 1; // 41 thresholds: 0.00 … 2.00
const BUCKET_MIN = -30;
const BUCKET_MAX = 30;

const WEIGHTS: readonly [number, number][] = [
  [1, 0.3],
  [2, 0.25],
  [3, 0.2],
  [4, 0.15],
  [15, 0.05],
  [
    30,
    0.05,
  ],
];

/** One 1-minute candle close. */
export interface Candle {
  /** Minute start, epoch ms. */
  t: number;
  close: number;
}

/** Momentum (percent) at minute index `i` from closes by minute; null when no delta exists. */
export function candleMomentum(closes: Map<number, number>, minute: number): number | null {
  const now = closes.get(minute);
  if (now === undefined) return null;
  let sum = 0;
  let w = 0;
  for (const [n, weight] of WEIGHTS) {
    const then = closes.get(minute - n);
    if (then === undefined || then <= 0) continue;
    sum += weight * ((now - then) / then) * 100;
    w += weight;
  }
  return w === 0 ? null : sum / w;
}

/** Bucket of a momentum in percent. */
export function momentumBucket(momentumPct: number): number {
  return Math.max(BUCKET_MIN, Math.min(BUCKET_MAX, Math.round(momentumPct * 100)));
}

/** Default year weights: this year 5, last year 4, … , at least 1. */
export function yearWeight(year: number, currentYear: number): number {
  return Math.max(1, 5 - (currentYear - year));
}

/** One cell of the lookup table. */
export interface LookupRow {
  bucket: string;
  ttc_minutes: number;
  move_pct: number;
  p_up: number;
  p_down: number;
  samples: number;
}

/** Builds the table from candles (any order). */
export function buildLookup(
  candles: readonly Candle[],
  options: { currentYear: number } = { currentYear: new Date().getUTCFullYear() },
): LookupRow[] {
  const closes = new Map<number, number>();
  for (const c of candles) if (c.close > 0) closes.set(Math.floor(c.t / 60_000), c.close);
  const keys = [
    "all",
    ...Array.from({ length: BUCKET_MAX - BUCKET_MIN + 1 }, (_, i) => String(i + BUCKET_MIN)),
  ];
  const up = new Map(keys.map((k) => [k, new Float64Array(MAX_MINUTES * (GRID + 1))]));
  const down = new Map(keys.map((k) => [k, new Float64Array(MAX_MINUTES * (GRID + 1))]));
  const total = new Map(keys.map((k) => [k, new Float64Array(MAX_MINUTES)]));
  const bin = (r: number) => Math.min(GRID, Math.floor(r / STEP_PCT + 1e-9));
  for (const [minute, close] of closes) {
    const m = candleMomentum(closes, minute);
    const targets = m === null ? ["all"] : ["all", String(momentumBucket(m))];
    const w = yearWeight(new Date(minute * 60_000).getUTCFullYear(), options.currentYear);
    for (let t = 1; t <= MAX_MINUTES; t++) {
      const later = closes.get(minute + t);
      if (later === undefined) continue;
      const r = ((later - close) / close) * 100;
      for (const k of targets) {
        total.get(k)![t - 1]! += w;
        const idx = (t - 1) * (GRID + 1);
        if (r >= 0) up.get(k)![idx + bin(r)]! += w;
        if (r <= 0) down.get(k)![idx + bin(-r)]! += w;
      }
    }
  }
  const rows: LookupRow[] = [];
  for (const k of keys) {
    const u = up.get(k)!;
    const d = down.get(k)!;
    const tot = total.get(k)!;
    for (let t = 1; t <= MAX_MINUTES; t++) {
      const n = tot[t - 1]!;
      if (n === 0) continue;
      const idx = (t - 1) * (GRID + 1);
      // Cumulative from the top bin down: P(r ≥ x_j) = Σ_{b ≥ j} / n.
      let cu = 0;
      let cd = 0;
      const pu: number[] = new Array(GRID);
      const pd: number[] = new Array(GRID);
      cu += u[idx + GRID]!;
      cd += d[idx + GRID]!;
      for (let j = GRID - 1; j >= 0; j--) {
        cu += u[idx + j]!;
        cd += d[idx + j]!;
        pu[j] = cu / n;
        pd[j] = cd / n;
      }
      for (let j = 0; j < GRID; j++) {
        rows.push({
          bucket: k,
          ttc_minutes: t,
          move_pct: Math.round(j * STEP_PCT * 100) / 100,
          p_up: pu[j]!,
          p_down: pd[j]!,
          samples: n,
        });
      }
    }
  }
  return rows;
}

/** The table in memory, for fast interpolation. */
export class Lookup {
  #cells = new Map<string, { up: Float64Array; down: Float64Array; samples: Float64Array }>();

  constructor(rows: Iterable<LookupRow>) {
    for (const r of rows) {
      let c = this.#cells.get(r.bucket);
      if (!c) {
        c = {
          up: new Float64Array(MAX_MINUTES * GRID).fill(Number.NaN),
          down: new Float64Array(MAX_MINUTES * GRID).fill(Number.NaN),
          samples: new Float64Array(MAX_MINUTES),
        };
        this.#cells.set(r.bucket, c);
      }
      const j = Math.round(Number(r.move_pct) / STEP_PCT);
      const t = Number(r.ttc_minutes);
      if (t < 1 || t > MAX_MINUTES || j < 0 || j >= GRID) continue;
      c.up[(t - 1) * GRID + j] = Number(r.p_up);
      c.down[(t - 1) * GRID + j] = Number(r.p_down);
      c.samples[t - 1] = Number(r.samples);
    }
  }

  /** Whether any data was loaded. */
  get empty(): boolean {
    return this.#cells.size === 0;
  }

  /** The bucket to use: the nearest with at least `minSamples` at some horizon, else `all`. */
  bucketFor(momentumPct: number | null, minSamples = 100): string {
    if (momentumPct === null) return "all";
    const b = momentumBucket(momentumPct);
    for (let d = 0; d <= BUCKET_MAX - BUCKET_MIN; d++) {
      for (const k of d === 0 ? [b] : [b - d, b + d]) {
        const c = this.#cells.get(String(k));
        if (c && c.samples.some((s) => s >= minSamples)) return String(k);
      }
    }
    return "all";
  }

  /** P(price at close ≥ strike) in [0, 1]. */
  probAtOrAbove(price: number, strike: number, ttcSeconds: number, bucket: string): number {
    const c = this.#cells.get(bucket) ?? this.#cells.get("all");
    if (!c) return Number.NaN;
    const x = ((strike - price) / price) * 100;
    if (x >= 0) return this.#interp(c.up, x, ttcSeconds);
    return 1 - this.#interp(c.down, -x, ttcSeconds);
  }

  /** Bilinear in (minutes, x). Below 1 minute it tends to 0 (x > 0); x is capped at 2 %. */
  #interp(table: Float64Array, x: number, ttcSeconds: number): number {
    const at = (t: number, j: number) => {
      const v = table[(t - 1) * GRID + j]!;
      return Number.isNaN(v) ? 0 : v;
    };
    const xi = Math.min(x, MAX_PCT) / STEP_PCT;
    const j0 = Math.min(GRID - 1, Math.floor(xi));
    const j1 = Math.min(GRID - 1, j0 + 1);
    const fx = xi - j0;
    const rowAt = (t: number) => at(t, j0) * (1 - fx) + at(t, j1) * fx;
    const minutes = Math.max(0, Math.min(MAX_MINUTES, ttcSeconds / 60));
    if (minutes < 1) return rowAt(1) * minutes + (x === 0 ? 1 : 0) * (1 - minutes);
    const t0 = Math.floor(minutes);
    const t1 = Math.min(MAX_MINUTES, t0 + 1);
    const ft = minutes - t0;
    return rowAt(t0) * (1 - ft) + rowAt(t1) * ft;
  }
}
