/**
 * The closed-form model: the probability that the price at close is at or above a strike, from a
 * driftless lognormal (the price is a martingale: E[S_T] = S_0) whose volatility is the realized
 * volatility of recent returns, with a floor, optionally shifted by a momentum drift term:
 *
 *   ln(S_T / S_0) ~ N((μ − σ²/2)·T, σ²·T),   P(S_T ≥ K) = Φ((ln(S_0/K) + (μ − σ²/2)·T) / (σ·√T))
 *
 * with σ per √second, T in seconds and μ per second. The coordinator sets μ = coefficient ×
 * (momentum / 100) / 60, i.e. momentum read as a fraction per minute (`RECIO_MOMENTUM_DRIFT`);
 * with the default coefficient 0 the model has no drift.
 *
 * @module
 */

/** Coefficients of the erfc fit (Numerical Recipes, `erfcc`), lowest order first. */
const ERFC = [
  -1.26551223,
  1.00002368,
  0.37409196,
  0.09678418,
  -0.18628806,
  0.27886807,
  -1.13520398,
  1.48851587,
  -0.82215223,
  0.17087277,
];

/** The standard normal CDF Φ(x), via erfc (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7). */
export function normCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  let poly = 0;
  for (let i = ERFC.length - 1; i >= 0; i--) poly = ERFC[i]! + t * poly;
  const erfc = t * Math.exp(-z * z + poly);
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** One observation of the price log. */
export interface PricePoint {
  /** Epoch ms. */
  t: number;
  price: number;
}

/**
 * Realized volatility per √second from consecutive log returns: √(Σ r² / Σ Δt). Rows are one per
 * second with gaps, so dividing by elapsed time (not by the count) keeps the unit right.
 * Returns null with fewer than two points.
 */
export function realizedVolPerSqrtSecond(points: readonly PricePoint[]): number | null {
  if (points.length < 2) return null;
  let sumSq = 0;
  let elapsed = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    if (b.t <= a.t || a.price <= 0 || b.price <= 0) continue;
    const r = Math.log(b.price / a.price);
    sumSq += r * r;
    elapsed += (b.t - a.t) / 1000;
  }
  return elapsed > 0 ? Math.sqrt(sumSq / elapsed) : null;
}

/** Seconds in a (365-day) year, to convert annualised volatility. */
export const SECONDS_PER_YEAR = 365 * 24 * 3600;

/** Annualised volatility → per √second. */
export function perSqrtSecond(annualised: number): number {
  return annualised / Math.sqrt(SECONDS_PER_YEAR);
}

export interface ClosedFormInput {
  price: number;
  strike: number;
  /** Seconds to close. */
  ttcSeconds: number;
  /** σ per √second (already floored). */
  sigma: number;
  /** μ per second. */
  drift?: number;
}

/** P(S_T ≥ K) in [0, 1]. At or after close it is 1 or 0 by the current price. */
export function probAtOrAbove(i: ClosedFormInput): number {
  if (i.ttcSeconds <= 0 || i.sigma <= 0) return i.price >= i.strike ? 1 : 0;
  const sd = i.sigma * Math.sqrt(i.ttcSeconds);
  const mean = ((i.drift ?? 0) - (i.sigma * i.sigma) / 2) * i.ttcSeconds;
  return normCdf((Math.log(i.price / i.strike) + mean) / sd);
}
