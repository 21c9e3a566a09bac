/**
 * The price store's rows as PostgreSQL takes them: the admission checks run on enqueue (whole
 * seconds of the years 2000-9999, prices that fit numeric(20, 8) > 0 after rounding, percents
 * within numeric(10, 6)), and the two wire formats of a batch, the column arrays of the `unnest`
 * insert and the COPY text of the bulk path. Pure functions; `store_format_test.ts` beside it.
 *
 * @example
 * ```ts
 * import { checkRow, copyText, type PriceRow } from "./store_format.ts";
 * const row: PriceRow = {
 *   secondMs: Date.UTC(2026, 0, 1),
 *   price: "68000.5",
 *   receivedMs: Date.UTC(2026, 0, 1, 0, 0, 0, 250),
 *   momentum: null,
 *   deltas: [0.1, null, null, null, null, null],
 * };
 * console.log(checkRow(row)); // null: the row can be written
 * console.log(copyText([row], 0, 1));
 * // 2026-01-01T00:00:00.000Z	68000.5	\N	0.1	\N	\N	\N	\N	\N	2026-01-01T00:00:00.250Z	t
 * ```
 *
 * @module
 */
import type { Deltas } from "./momentum.ts";

/** A finished per-second row. */
export interface PriceRow {
  /** Start of the second (exchange time, epoch ms). */
  secondMs: number;
  /** Decimal string as the venue sent it. */
  price: string;
  /** Local receive time of the frame that set the price. */
  receivedMs: number;
  momentum: number | null;
  deltas: Deltas;
  /**
   * False when the second's last trade may be missing (a feed break covered part of it, or it was
   * written before the second was seen to end); absent or true when complete.
   */
  complete?: boolean;
}

/** A feed gap of more than 5 s. */
export interface GapRow {
  fromMs: number;
  toMs: number;
  cause: string;
  backfilled?: boolean;
}

/** A price as the table takes it: numeric(20, 8), positive. */
const PRICE = /^\d{1,12}(\.\d{1,20})?$/;
/** Deltas and momentum are numeric(10, 6): |x| rounded to 6 decimals < 10^4. */
const PERCENT_LIMIT = 9_999.999_999_5;
/** Most characters of a gap's cause. */
export const CAUSE_CHARS = 200;

/** Why {@linkcode checkRow} refuses a row, or null when the row can be written. */
export function checkRow(row: PriceRow): string | null {
  if (!inYears(row.secondMs) || row.secondMs % 1000 !== 0) {
    return `second ${row.secondMs} is not a whole second of the years 2000-9999 in epoch ms`;
  }
  if (!inYears(row.receivedMs)) {
    return `receive time ${row.receivedMs} is not epoch ms of the years 2000-9999`;
  }
  const n = Number(row.price);
  if (!PRICE.test(row.price) || !(n > 0)) {
    return `price ${JSON.stringify(row.price)} does not fit numeric(20, 8) > 0`;
  }
  // Only prices near either end can round out of numeric(20, 8): to 0 (the price > 0 check) or
  // to 10^12 (an overflow). The exact test runs for those alone.
  if ((n < 1e-8 || n >= 999_999_999_999.99) && roundsOut(row.price)) {
    return `price ${row.price} rounds out of numeric(20, 8) > 0`;
  }
  return null;
}

/** Whether a price of {@linkcode PRICE} rounds (half away from zero) to 0 or to 10^12 at 8 decimals. */
function roundsOut(price: string): boolean {
  const dot = price.indexOf(".");
  const int = (dot < 0 ? price : price.slice(0, dot)).replace(/^0+/, "");
  const frac = dot < 0 ? "" : price.slice(dot + 1);
  const head = frac.slice(0, 8);
  const up = frac.length > 8 && frac.charCodeAt(8) >= 53; // the 9th decimal is 5-9
  if (int === "" && /^0*$/.test(head) && !up) return true;
  return int === "999999999999" && head === "99999999" && up;
}

const YEAR_2000 = Date.UTC(2000, 0, 1);
const YEAR_10000 = Date.UTC(10000, 0, 1);

function inYears(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= YEAR_2000 && ms < YEAR_10000;
}

/** Epoch ms (a fraction allowed) of the years 2000-9999, which timestamptz stores. */
export function storable(ms: number): boolean {
  return Number.isFinite(ms) && ms >= YEAR_2000 && ms < YEAR_10000;
}

/** Null, or a finite percent within numeric(10, 6). */
function percentOk(x: number | null | undefined): boolean {
  return x === null || x === undefined || (Number.isFinite(x) && Math.abs(x) < PERCENT_LIMIT);
}

/**
 * The row with a momentum or delta beyond numeric(10, 6) (or not finite) set to null, or null
 * when every percent fits (the row is stored as it is).
 */
export function fitPercents(row: PriceRow): PriceRow | null {
  if (percentOk(row.momentum) && row.deltas.every(percentOk)) return null;
  const fit = (x: number | null) => (percentOk(x) ? x : null);
  return { ...row, momentum: fit(row.momentum), deltas: row.deltas.map(fit) as Deltas };
}

/**
 * Epoch ms (years 2000-9999) to ISO 8601 UTC with milliseconds, e.g. `2026-01-01T00:01:05.250Z`,
 * caching the `YYYY-MM-DDTHH:MM:` prefix of the last minute seen.
 */
export function isoFormatter(): (ms: number) => string {
  let minute = Number.NaN;
  let prefix = "";
  return (ms) => {
    const m = Math.floor(ms / 60_000);
    if (m !== minute) {
      minute = m;
      prefix = new Date(m * 60_000).toISOString().slice(0, 17);
    }
    const rest = ms - m * 60_000;
    const sec = Math.floor(rest / 1000);
    const milli = rest - sec * 1000;
    return `${prefix}${sec < 10 ? "0" : ""}${sec}.${
      milli < 10 ? "00" : milli < 100 ? "0" : ""
    }${milli}Z`;
  };
}

const num = (x: number | null) => (x === null ? null : String(x));

/**
 * One column array per table column, unnested server-side: a single small statement (prepared
 * once, whatever the batch size) instead of a multi-row VALUES list with ten parameters a row.
 * Times travel as epoch milliseconds (int8 parses far faster than timestamp text). Columns:
 * second, price, momentum, the six deltas, receive time, complete.
 */
export function unnestColumns(batch: readonly PriceRow[]): (string | null)[][] {
  const cols: (string | null)[][] = Array.from({ length: 11 }, () => new Array(batch.length));
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!;
    cols[0]![i] = String(r.secondMs);
    cols[1]![i] = r.price;
    cols[2]![i] = num(r.momentum);
    for (let d = 0; d < 6; d++) cols[3 + d]![i] = num(r.deltas[d] ?? null);
    cols[9]![i] = String(r.receivedMs);
    // Sent as text[] (cast server-side): postgres.js writes a bool[] element as `x === true`.
    cols[10]![i] = r.complete === false ? "f" : "t";
  }
  return cols;
}

/**
 * Rows `from` to `to` (exclusive) of the batch as COPY text. No field needs escaping: enqueue
 * admits only whole-second times in years 2000-9999, prices of digits and one dot, and finite
 * numbers (digits, ".", "-", "e", "+"); null is \\N. Times are ISO 8601 built from a per-minute
 * prefix (toISOString for every row would cost as much as the COPY itself).
 */
export function copyText(batch: readonly PriceRow[], from: number, to: number): string {
  const lines = new Array<string>(to - from);
  const field = (x: number | null | undefined) => (x === null || x === undefined ? "\\N" : x);
  const second = isoFormatter();
  const received = isoFormatter();
  for (let i = from; i < to; i++) {
    const r = batch[i]!;
    const d = r.deltas;
    lines[i - from] = `${second(r.secondMs)}\t${r.price}\t${field(r.momentum)}\t${field(d[0])}\t${
      field(d[1])
    }\t${field(d[2])}\t${field(d[3])}\t${field(d[4])}\t${field(d[5])}\t${received(r.receivedMs)}\t${
      r.complete === false ? "f" : "t"
    }\n`;
  }
  return lines.join("");
}
