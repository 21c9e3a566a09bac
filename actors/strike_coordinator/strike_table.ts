/**
 * The strike table as a pure function of the price, the event's markets and a probability model.
 *
 * Per strike (legacy semantics, with the old `buffer_pct` bug fixed to a real percent):
 * - `strike`: the market's `floor_strike` rounded to the dollar (`114749.99` → `114750`);
 * - `active_side`: `yes` when the strike is below the price (YES is in the money), else `no`;
 * - `probability`: the percent chance that the active side wins at close;
 * - `yes_ask`, `no_ask`: in cents (= percentage points), as the old tables had them;
 * - `yes_diff`, `no_diff`: edge in percentage points, the model's chance of that side winning
 *   minus its ask; null when the ask is missing.
 *
 * @module
 */

/** One market of the event, as the coordinator reads it from `live_data.kalshi_market_state`. */
export interface MarketQuote {
  ticker: string;
  floorStrike: number;
  /** Dollars (0..1). */
  yesAsk: number | null;
  noAsk: number | null;
  volume: number | null;
  /** Kalshi's market status (`active`, `closed`, ...). */
  status: string | null;
  /** Bids in dollars and the market's close (epoch ms): kept in the history, not in the table. */
  yesBid?: number | null;
  noBid?: number | null;
  closeTime?: number | null;
}

/** One row of the strike table. */
export interface StrikeRow {
  strike: number;
  buffer: number;
  buffer_pct: number;
  probability: number;
  yes_ask: number | null;
  no_ask: number | null;
  yes_diff: number | null;
  no_diff: number | null;
  volume: number | null;
  ticker: string;
  active_side: "yes" | "no";
}

const r2 = (v: number) => Math.round(v * 100) / 100;
/** Dollars (0..1) as cents rounded to a hundredth, as the table shows asks. */
export const cents = (dollars: number | null) => dollars === null ? null : r2(dollars * 100);

/** The model's percent chance that the market at `floorStrike` resolves YES, unrounded. */
export function yesPercent(probAtOrAbove: (floorStrike: number) => number, floorStrike: number) {
  return Math.min(1, Math.max(0, probAtOrAbove(floorStrike))) * 100;
}

/**
 * The markets with a usable strike, nearest `price` first; ties go to the lower strike, then
 * keep the input order (the store reads markets ordered by strike and ticker).
 */
function byDistance(price: number, markets: readonly MarketQuote[]) {
  return markets
    .filter((m) => Number.isFinite(m.floorStrike) && m.floorStrike > 0)
    .map((m) => ({ m, strike: Math.round(m.floorStrike + 0.01) }))
    .sort((a, b) => Math.abs(a.strike - price) - Math.abs(b.strike - price) || a.strike - b.strike);
}

/**
 * Builds the rows for the `count` market strikes nearest `price`, sorted by strike.
 * `probAtOrAbove(floorStrike)` is the model's P(price at close ≥ floorStrike) in [0, 1].
 */
export function buildStrikeRows(
  price: number,
  markets: readonly MarketQuote[],
  probAtOrAbove: (floorStrike: number) => number,
  count = 21,
): StrikeRow[] {
  const nearest = byDistance(price, markets)
    .slice(0, count)
    .sort((a, b) => a.strike - b.strike);
  return nearest.map(({ m, strike }) => {
    const pYes = yesPercent(probAtOrAbove, m.floorStrike);
    const below = strike < price;
    const probability = below ? pYes : 100 - pYes;
    const yesAsk = cents(m.yesAsk);
    const noAsk = cents(m.noAsk);
    const buffer = Math.abs(price - strike);
    return {
      strike,
      buffer: r2(buffer),
      buffer_pct: Math.round((buffer / price) * 100 * 10_000) / 10_000,
      probability: r2(probability),
      yes_ask: yesAsk,
      no_ask: noAsk,
      yes_diff: yesAsk === null ? null : r2(pYes - yesAsk),
      no_diff: noAsk === null ? null : r2(100 - pYes - noAsk),
      volume: m.volume,
      ticker: m.ticker,
      active_side: below ? "yes" : "no",
    };
  });
}

/**
 * The market the header's `market_status` describes: the one whose strike is nearest `price`
 * (the centre of the table; halfway between two strikes, the lower one). The markets of one
 * event can differ in status, so "the event's markets' status" is not one value; the market a
 * trader looks at first is.
 */
export function nearestMarket(price: number, markets: readonly MarketQuote[]): MarketQuote | null {
  return byDistance(price, markets)[0]?.m ?? null;
}

/** Tier: the most common gap between neighbouring strikes (250 for KXBTCD). */
export function strikeTier(markets: readonly MarketQuote[]): number | null {
  const s = [...new Set(markets.map((m) => Math.round(m.floorStrike + 0.01)))].sort((a, b) =>
    a - b
  );
  const gaps = new Map<number, number>();
  for (let i = 1; i < s.length; i++) {
    const g = s[i]! - s[i - 1]!;
    gaps.set(g, (gaps.get(g) ?? 0) + 1);
  }
  let best: number | null = null;
  let n = 0;
  for (const [g, c] of gaps) if (c > n) [best, n] = [g, c];
  return best;
}

/** Watchlist filter settings (the effective thresholds). */
export interface WatchlistSettings {
  minVolume: number;
  minProbability: number;
  maxAsk: number;
  minDiff: number;
}

/** The watchlist: liquid strikes with a high probability and an edge, best probability first. */
export function watchlist(rows: readonly StrikeRow[], s: WatchlistSettings): StrikeRow[] {
  return rows
    .filter((r) =>
      (r.volume ?? 0) >= s.minVolume &&
      r.probability > s.minProbability &&
      Math.max(r.yes_ask ?? Infinity, r.no_ask ?? Infinity) <= s.maxAsk &&
      ((r.yes_diff ?? -Infinity) >= s.minDiff || (r.no_diff ?? -Infinity) >= s.minDiff)
    )
    .sort((a, b) => b.probability - a.probability);
}
