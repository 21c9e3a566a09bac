/**
 * Hourly event tickers of Kalshi's crypto ladders (exchange-protocols.md §B5):
 * `KXBTCD-YYMONDDHH`, where the date and the settlement hour (24 h clock) are in US Eastern time.
 * Formatting goes through `Intl.DateTimeFormat` with `America/New_York`, so DST is the tz
 * database's business. US Eastern offsets are whole hours, so UTC hour boundaries are Eastern
 * hour boundaries too.
 *
 * DST days: on the spring-forward day hour `02` does not exist; on the fall-back day hour `01`
 * happens twice, so the ticker `…NOV0101` names two instants. {@linkcode parseEventTicker} returns
 * every instant a ticker can mean; the event's own `strike_date` says which one is real.
 *
 * @module
 */

const HOUR_MS = 3_600_000;
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

const ET = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  year: "numeric",
  month: "numeric",
  day: "numeric",
  hour: "numeric",
  minute: "numeric",
  hourCycle: "h23",
});

/** Eastern wall-clock fields of an instant. */
export interface EasternTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** The US Eastern wall-clock time of `ms`. */
export function easternTime(ms: number): EasternTime {
  const parts: Record<string, number> = {};
  for (const p of ET.formatToParts(new Date(ms))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
  };
}

const two = (n: number) => String(n).padStart(2, "0");

/** The event ticker of `series` settling at the instant `settleMs` (a top of the hour). */
export function eventTicker(series: string, settleMs: number): string {
  const t = easternTime(settleMs);
  return `${series}-${two(t.year % 100)}${MONTHS[t.month - 1]}${two(t.day)}${two(t.hour)}`;
}

/** The next top of the hour strictly after `nowMs` (when the current hourly event settles). */
export function nextSettlement(nowMs: number): number {
  return Math.floor(nowMs / HOUR_MS) * HOUR_MS + HOUR_MS;
}

/** The current and the next hourly event of `series` at `nowMs`, with their settlement instants. */
export function hourlyEvents(
  series: string,
  nowMs: number,
): { ticker: string; settlesAt: number }[] {
  const first = nextSettlement(nowMs);
  return [first, first + HOUR_MS].map((settlesAt) => ({
    ticker: eventTicker(series, settlesAt),
    settlesAt,
  }));
}

/** A parsed event ticker. */
export interface ParsedEventTicker {
  series: string;
  year: number;
  month: number;
  day: number;
  hour: number;
  /** Every UTC instant the ticker can name: none (a skipped hour), one, or two (fall back). */
  instants: number[];
}

const TICKER = /^([A-Z0-9]+)-(\d{2})([A-Z]{3})(\d{2})(\d{2})$/;

/** Parses `KXBTCD-26SEP0107`; null when it is not an hourly event ticker. */
export function parseEventTicker(ticker: string): ParsedEventTicker | null {
  const m = TICKER.exec(ticker);
  if (!m) return null;
  const month = MONTHS.indexOf(m[3]!) + 1;
  const year = 2000 + Number(m[2]);
  const day = Number(m[4]);
  const hour = Number(m[5]);
  if (month === 0 || day < 1 || day > 31 || hour > 23) return null;
  const wall = Date.UTC(year, month - 1, day, hour);
  const instants: number[] = [];
  // Eastern time is UTC-4 (EDT) or UTC-5 (EST): try both, keep those that read back the same.
  for (const offset of [4, 5]) {
    const candidate = wall + offset * HOUR_MS;
    const t = easternTime(candidate);
    if (
      t.year === year && t.month === month && t.day === day && t.hour === hour && t.minute === 0
    ) instants.push(candidate);
  }
  if (instants.length === 0 && new Date(wall).getUTCDate() !== day) return null;
  return { series: m[1]!, year, month, day, hour, instants };
}

/** True when `strikeDateMs` is an instant `ticker` can name (the event-ticker cross-check). */
export function tickerMatchesStrikeDate(ticker: string, strikeDateMs: number): boolean {
  return parseEventTicker(ticker)?.instants.includes(strikeDateMs) ?? false;
}
