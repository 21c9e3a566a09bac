/**
 * Canonicalisation rules of the legacy import. Each rule is a small pure function; the importer
 * applies the same rules to the source rows that the parity queries apply (in SQL) to the target
 * rows, so both sides hash identical text.
 *
 * - **Decimals** travel as plain decimal strings (`"65000.5"`, never `6.5e4`), normalised: no
 *   trailing zeros after the point, no `-0`. This is also what PostgreSQL's
 *   `trim_scale(x)::text` prints, which the parity queries use.
 * - **REAL → numeric**: a SQLite REAL (an IEEE double) is first written as its shortest
 *   round-trip decimal (what the old Python code printed with `repr`, and what JavaScript's
 *   `String(n)` gives), then rounded to the target column's scale **half away from zero** — the
 *   rounding PostgreSQL itself applies when a numeric(p,s) column receives more digits, so a value
 *   rounded here and a value rounded by the server can never differ.
 * - **Money units**: cents ÷ 100 and centi-cents ÷ 10,000 are exact decimal shifts (no float).
 * - **Booleans**: true/false, or 0/1 as SQLite and the JSON mirrors stored Python's `bool`; one
 *   parser for every source. Anything else (`"yes"`, `2`, `"true"`) is rejected.
 * - **Timestamps**: naive text is US Eastern (America/New_York) wall time and is converted to
 *   UTC with the US daylight-saving rules (since 2007: second Sunday of March 02:00 to first
 *   Sunday of November 02:00; before: first Sunday of April to last Sunday of October). A wall
 *   time inside the spring-forward gap does not exist and a wall time inside the fall-back hour
 *   happens twice: both are reported as such, never guessed here (see `ambiguity.ts` for how the
 *   importer resolves the fall-back hour from the source's rowid order). Text with `Z` or an
 *   offset is taken as written. The canonical form is ISO 8601 UTC with six fraction digits,
 *   `2025-03-09T07:30:00.000000Z`, which PostgreSQL prints with
 *   `to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.
 *
 * @module
 */

/** A value that is not a finite decimal number. */
export class DecimalError extends Error {
  override name = "DecimalError";
}

const PLAIN = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Turns a number, bigint or numeric text into a normalised plain decimal string.
 * Throws {@linkcode DecimalError} for NaN, infinities, empty or non-numeric text.
 */
export function toDecimal(value: number | bigint | string): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new DecimalError(`${value} is not a finite number`);
    return expand(String(value));
  }
  const text = value.trim();
  return expand(text);
}

function expand(text: string): string {
  const m = PLAIN.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) {
    throw new DecimalError(`"${text.slice(0, 40)}" is not a decimal number`);
  }
  const sign = m[1] === "-" ? "-" : "";
  let int = m[2] ?? "";
  let frac = m[3] ?? "";
  const exp = m[4] ? Number(m[4]) : 0;
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 400) {
    throw new DecimalError(`"${text.slice(0, 40)}" has an exponent out of range`);
  }
  if (exp > 0) {
    frac = frac.padEnd(exp, "0");
    int = int + frac.slice(0, exp);
    frac = frac.slice(exp);
  } else if (exp < 0) {
    int = int.padStart(-exp + 1, "0");
    frac = int.slice(int.length + exp) + frac;
    int = int.slice(0, int.length + exp);
  }
  return normalise(sign, int, frac);
}

function normalise(sign: string, int: string, frac: string): string {
  const i = int.replace(/^0+/, "") || "0";
  const f = frac.replace(/0+$/, "");
  if (i === "0" && f === "") return "0";
  return `${sign}${i}${f ? "." + f : ""}`;
}

/** Multiplies a decimal by 10^`places` (negative `places` divides), exactly. */
export function shiftDecimal(value: number | bigint | string, places: number): string {
  const d = toDecimal(value);
  if (places === 0) return d;
  const neg = d.startsWith("-");
  const [int = "0", frac = ""] = (neg ? d.slice(1) : d).split(".");
  return expand(`${neg ? "-" : ""}${int}.${frac}e${places}`);
}

/** Legacy cents (Kalshi prices, balances, exposure) → dollars, exactly. */
export function centsToDollars(value: number | bigint | string): string {
  return shiftDecimal(value, -2);
}

/** Legacy centi-cents (Kalshi WebSocket position money) → dollars, exactly. */
export function centiCentsToDollars(value: number | bigint | string): string {
  return shiftDecimal(value, -4);
}

/** Dollars stay dollars; only normalised. */
export function dollars(value: number | bigint | string): string {
  return toDecimal(value);
}

/**
 * Rounds a decimal to `scale` fraction digits, half away from zero (PostgreSQL's numeric
 * rounding). A REAL goes through its shortest round-trip decimal first.
 */
export function roundDecimal(value: number | bigint | string, scale: number): string {
  const d = toDecimal(value);
  const neg = d.startsWith("-");
  const [int = "0", frac = ""] = (neg ? d.slice(1) : d).split(".");
  if (frac.length <= scale) return d;
  const kept = frac.slice(0, scale);
  const up = (frac.charCodeAt(scale) - 48) >= 5;
  let digits = BigInt(int + kept);
  if (up) digits += 1n;
  const s = digits.toString().padStart(scale + 1, "0");
  const cut = s.length - scale;
  return normalise(neg ? "-" : "", s.slice(0, cut), s.slice(cut));
}

/** A value that is not a legacy boolean. */
export class BooleanError extends Error {
  override name = "BooleanError";
}

/**
 * A legacy boolean → boolean: `true`/`false`, or 0/1 (Python's `bool` as SQLite and the JSON
 * mirrors stored it); null and undefined stay null; anything else throws {@linkcode BooleanError}.
 */
export function legacyBoolean(value: unknown): boolean | null {
  if (value === null || value === undefined) return null;
  if (value === true || value === 1 || value === 1n) return true;
  if (value === false || value === 0 || value === 0n) return false;
  const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : String(value);
  throw new BooleanError(`${shown} is not a boolean (true/false or 0/1)`);
}

/** Outcome of converting a legacy timestamp to UTC. */
export type UtcResult =
  | { kind: "ok"; utc: string; ms: number }
  | {
    kind: "ambiguous";
    /** The first occurrence (EDT, UTC−4). */
    first: string;
    /** The second occurrence (EST, UTC−5). */
    second: string;
    ms: number;
  }
  | { kind: "nonexistent"; ms: number }
  | { kind: "invalid"; reason: string };

const NAIVE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/i;
const HOUR = 3_600_000;

/** Day of month of the `n`-th Sunday (n ≥ 1) of `month` (1-12), or the last one when n = -1. */
function sunday(year: number, month: number, n: number): number {
  if (n > 0) {
    const dow = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
    return 1 + ((7 - dow) % 7) + (n - 1) * 7;
  }
  const last = new Date(Date.UTC(year, month, 0));
  return last.getUTCDate() - last.getUTCDay();
}

const TRANSITIONS = new Map<number, { springForward: number; fallBack: number }>();

/** Wall-clock start of daylight time and of standard time (as naive-UTC ms) in `year`. */
export function easternTransitions(year: number): { springForward: number; fallBack: number } {
  let t = TRANSITIONS.get(year);
  if (!t) TRANSITIONS.set(year, t = computeTransitions(year));
  return t;
}

function computeTransitions(year: number): { springForward: number; fallBack: number } {
  if (year >= 2007) {
    return {
      springForward: Date.UTC(year, 2, sunday(year, 3, 2), 2),
      fallBack: Date.UTC(year, 10, sunday(year, 11, 1), 2),
    };
  }
  return {
    springForward: Date.UTC(year, 3, sunday(year, 4, 1), 2),
    fallBack: Date.UTC(year, 9, sunday(year, 10, -1), 2),
  };
}

function fractionMicros(frac: string | undefined): { micros: number; text: string } {
  const f = (frac ?? "").padEnd(6, "0");
  if (f.length > 6 && /[1-9]/.test(f.slice(6))) return { micros: -1, text: "" };
  const six = f.slice(0, 6);
  return { micros: Number(six), text: six };
}

/** Formats naive-UTC milliseconds plus a six-digit fraction as the canonical UTC text. */
function isoUtc(ms: number, micros6: string): string {
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros6}Z`;
}

function wallMs(m: RegExpExecArray): number | undefined {
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? "0"].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (
    back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d ||
    back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s
  ) return undefined;
  return ms;
}

/**
 * Naive US Eastern wall time (`YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]`) → UTC. Text carrying `Z` or
 * an offset is converted as written. Reports the spring-forward gap as `nonexistent` and the
 * repeated fall-back hour as `ambiguous` with both candidates.
 *
 * The common shape, `YYYY-MM-DDTHH:MM:SS` of an hour that is neither a gap nor a fold, takes a
 * shortcut: the offset is the same for every second of an hour (the transitions are on the hour),
 * so the hour is converted once and its seconds reuse it (a legacy price log has 3,600 rows an
 * hour, read in order). The result is the same as {@linkcode easternToUtcUncached}'s.
 */
export function easternToUtc(text: string): UtcResult {
  return plainWallSecond(text) ?? easternToUtcUncached(text);
}

/** The hour {@linkcode plainWallSecond} converted last: its text, UTC text and UTC ms. */
const lastHour = { text: "", utc: "", ms: 0, ok: false };

/** Where `YYYY-MM-DD HH` has its digits. */
const DATE_HOUR_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12] as const;

/** 0-9 at `i` of `s`, else -1. */
function digitAt(s: string, i: number): number {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : -1;
}

/** `YYYY-MM-DD[T ]HH:MM:SS` of an hour with one UTC offset → UTC; anything else undefined. */
function plainWallSecond(text: string): UtcResult | undefined {
  if (text.length !== 19) return undefined;
  const sep = text.charCodeAt(10);
  if (
    text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 32) ||
    text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58
  ) return undefined;
  for (const i of DATE_HOUR_DIGITS) if (digitAt(text, i) < 0) return undefined;
  const m1 = digitAt(text, 14);
  const m2 = digitAt(text, 15);
  const s1 = digitAt(text, 17);
  const s2 = digitAt(text, 18);
  if (m1 < 0 || m1 > 5 || m2 < 0 || s1 < 0 || s1 > 5 || s2 < 0) return undefined;
  const hour = text.slice(0, 13);
  if (hour !== lastHour.text) {
    const r = easternToUtcUncached(`${hour}:00:00`);
    lastHour.text = hour;
    lastHour.ok = r.kind === "ok";
    lastHour.utc = r.kind === "ok" ? r.utc.slice(0, 13) : "";
    lastHour.ms = r.kind === "ok" ? r.ms : 0;
  }
  if (!lastHour.ok) return undefined;
  const ms = lastHour.ms + ((m1 * 10 + m2) * 60 + s1 * 10 + s2) * 1000;
  return { kind: "ok", utc: `${lastHour.utc}${text.slice(13)}.000000Z`, ms };
}

/** {@linkcode easternToUtc} without the per-hour shortcut: the reference it must agree with. */
export function easternToUtcUncached(text: string): UtcResult {
  const t = text.trim();
  const off = OFFSET.exec(t);
  if (off) {
    const wall = wallMs(off);
    const frac = fractionMicros(off[7]);
    if (wall === undefined || frac.micros < 0) {
      return { kind: "invalid", reason: `"${t}" is not a valid date and time` };
    }
    const z = off[8]!.toUpperCase();
    let offsetMin = 0;
    if (z !== "Z") {
      const digits = z.replace(":", "");
      offsetMin = (digits.startsWith("-") ? -1 : 1) *
        (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
    }
    const ms = wall - offsetMin * 60_000;
    return { kind: "ok", utc: isoUtc(ms, frac.text), ms };
  }
  const m = NAIVE.exec(t);
  if (!m) return { kind: "invalid", reason: `"${t.slice(0, 40)}" is not a timestamp` };
  const wall = wallMs(m);
  const frac = fractionMicros(m[7]);
  if (wall === undefined || frac.micros < 0) {
    return { kind: "invalid", reason: `"${t}" is not a valid date and time` };
  }
  const { springForward, fallBack } = easternTransitions(Number(m[1]));
  if (wall >= springForward && wall < springForward + HOUR) {
    return { kind: "nonexistent", ms: wall };
  }
  if (wall >= fallBack - HOUR && wall < fallBack) {
    const first = wall + 4 * HOUR;
    const second = wall + 5 * HOUR;
    return {
      kind: "ambiguous",
      first: isoUtc(first, frac.text),
      second: isoUtc(second, frac.text),
      ms: first,
    };
  }
  const dst = wall >= springForward + HOUR && wall < fallBack - HOUR;
  const ms = wall + (dst ? 4 : 5) * HOUR;
  return { kind: "ok", utc: isoUtc(ms, frac.text), ms };
}

/** True when naive ET `text` lies in its year's repeated fall-back hour (01:00–01:59:59). */
export function inFallBackHour(text: string): boolean {
  // The repeated hour is in October (before 2007) or November: skip the parse for other months.
  const month = text.trim().slice(5, 7);
  if (month !== "10" && month !== "11") return false;
  return easternToUtc(text).kind === "ambiguous";
}

/** `"$104,250"` or `"104250.5"` → `"104250.5"`; the legacy trades table keeps strikes as text. */
export function strikeText(value: string | number): string {
  return toDecimal(typeof value === "number" ? value : value.replace(/[$,\s]/g, ""));
}
