/**
 * The strike-table history of one cycle (`live_data.strike_table_history`, migration 0100): each
 * published row with what the table leaves out, the model's chance that the market resolves YES,
 * the market's bids and close, and the ages of the model's inputs. The store writes the table and
 * these rows from the same objects in one transaction, so a stored cycle reads back as exactly the
 * table that was published.
 *
 * @example
 * ```ts
 * import { historyRows } from "./history.ts";
 * import { buildStrikeRows, type MarketQuote } from "./strike_table.ts";
 * const markets: MarketQuote[] = [{ ticker: "KXBTCD-26NOV2415-T99999.99", floorStrike: 99_999.99,
 *   yesAsk: 0.55, noAsk: 0.46, volume: 10, status: "active", yesBid: 0.54, noBid: 0.45 }];
 * const prob = () => 0.5;
 * const [row] = historyRows(buildStrikeRows(100_010, markets, prob), markets, prob);
 * // row.prob_yes === 50, row.probability === 50 (active side YES), row.yes_bid === 54
 * ```
 *
 * @module
 */
import { cents, type MarketQuote, type StrikeRow, yesPercent } from "./strike_table.ts";

/** One history row: the table's row and what the history adds to it. */
export interface HistoryRow extends StrikeRow {
  /** Percent (0-100) chance that the market resolves YES, to a hundredth like the table. */
  prob_yes: number;
  /** Bids in cents, as the asks. */
  yes_bid: number | null;
  no_bid: number | null;
  close_time: Date | null;
}

/** The ages of the model's inputs at the cycle. */
export interface CycleInputs {
  /** Milliseconds since the newest price row. */
  priceAgeMs: number;
  /** Milliseconds since the newest market snapshot of the event. */
  marketAgeMs: number;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/**
 * The history rows of `rows`, the table built from `markets` with `probAtOrAbove` (the same
 * model function, so `prob_yes` is the value the table's probability came from).
 */
export function historyRows(
  rows: readonly StrikeRow[],
  markets: readonly MarketQuote[],
  probAtOrAbove: (floorStrike: number) => number,
): HistoryRow[] {
  const byTicker = new Map(markets.map((m) => [m.ticker, m]));
  return rows.map((row) => {
    const m = byTicker.get(row.ticker);
    if (!m) throw new Error(`Cannot keep the history of strike ${row.strike}: no market`);
    return {
      ...row,
      prob_yes: r2(yesPercent(probAtOrAbove, m.floorStrike)),
      yes_bid: cents(m.yesBid ?? null),
      no_bid: cents(m.noBid ?? null),
      close_time: m.closeTime === null || m.closeTime === undefined ? null : new Date(m.closeTime),
    };
  });
}

/** Milliseconds as a PostgreSQL `int` (an age beyond ±24 days is clamped, never refused). */
export function ageMs(ms: number): number {
  return Math.max(-2_147_483_648, Math.min(2_147_483_647, Math.round(ms)));
}
