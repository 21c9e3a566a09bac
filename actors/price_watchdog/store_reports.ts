/**
 * The price store's admission checks and reports (`store.ts` uses them): a row or gap record the
 * table cannot take is refused on enqueue and counted, a percent out of range is stored as null,
 * and what COPY or PostgreSQL refused is counted and logged (rate-limited).
 *
 * @module
 */
import type { RateLimitedLog } from "../../lib/log.ts";
import { cleanText, rejectionReason } from "../../lib/bad_rows.ts";
import type { Refusal } from "./price_log.ts";
import {
  CAUSE_CHARS,
  checkRow,
  fitPercents,
  type GapRow,
  type PriceRow,
  storable,
} from "./store_format.ts";

/** Sinks of the admission checks and the reports. */
export interface Sinks {
  symbol: string;
  count(name: string, n?: number): void;
}

/**
 * The row as it is stored, or null when refused: a row the table cannot take would fail its
 * whole batch again and again, so it is refused here (`rejected.unstorable_row`); a percent beyond
 * numeric(10, 6) (or not finite) is stored as null, the price being good (`rows.percent_nulled`).
 */
export function admit(row: PriceRow, o: Sinks, warn: RateLimitedLog): PriceRow | null {
  const bad = checkRow(row);
  if (bad) {
    o.count("rejected.unstorable_row");
    warn.warn("reject", "Refused a price row of {symbol}: {reason}", {
      symbol: o.symbol,
      reason: bad,
    });
    return null;
  }
  const fitted = fitPercents(row);
  if (!fitted) return row;
  o.count("rows.percent_nulled");
  warn.warn(
    "percent",
    "Price row of {symbol} at {second}: momentum or a delta is out of range, stored as null",
    {
      symbol: o.symbol,
      second: new Date(row.secondMs).toISOString(),
    },
  );
  return fitted;
}

/** The gap record as it is stored (its cause cleaned), or null when its times are unstorable. */
export function admitGap(gap: GapRow, o: Sinks, warn: RateLimitedLog): GapRow | null {
  if (!storable(gap.fromMs) || !storable(gap.toMs)) {
    o.count("rejected.unstorable_gap");
    warn.warn("reject", "Refused a gap record of {symbol}: {from}-{to} is not of 2000-9999", {
      symbol: o.symbol,
      from: gap.fromMs,
      to: gap.toMs,
    });
    return null;
  }
  return { ...gap, cause: cleanText(gap.cause, CAUSE_CHARS) };
}

/** Counts and logs a COPY that failed where plain statements then wrote the batch. */
export function reportBulkFailure(
  o: Sinks,
  warn: RateLimitedLog,
  rows: number,
  error: unknown,
): void {
  o.count("db.bulk_failed");
  warn.warn(
    "bulk",
    "Bulk write of {rows} price rows of {symbol} failed and was written without COPY: {error}",
    {
      rows,
      symbol: o.symbol,
      error: error instanceof Error ? error.message : String(error),
    },
  );
}

/** Counts and logs what PostgreSQL refused (once committed); returns the refused price rows. */
export function reportRefusals(
  o: Sinks,
  warn: RateLimitedLog,
  refused: readonly Refusal[],
): Set<PriceRow> {
  const rows = new Set<PriceRow>();
  for (const r of refused) {
    if (r.row) rows.add(r.row);
    o.count(r.row ? "rows.rejected" : "records.rejected");
    warn.warn("refused", "Price {what} of {symbol} refused by PostgreSQL and dropped: {reason}", {
      what: r.what,
      symbol: o.symbol,
      reason: rejectionReason(r.error),
    });
  }
  return rows;
}
