/**
 * Exact decimal arithmetic for the trade builder: every amount, price and count is a `bigint` of
 * 10^-8 units, read from the decimal strings PostgreSQL and Kalshi send and written back as
 * decimal strings. No value passes through a float. Kalshi counts carry at most 2 decimals and
 * prices at most 6, so a count times a price has at most 8 and stays exact; a value with more
 * digits than its kind allows is refused rather than rounded.
 *
 * @example
 * ```ts
 * import { format, mul, parse } from "./units.ts";
 * console.log(format(mul(parse("3", 2)!, parse("0.5600", 6)!))); // "1.68"
 * ```
 *
 * @module
 */

/** Digits of the unit: values are integers of 10^-8. */
export const DIGITS = 8;
/** One (1.00000000) in units. */
export const ONE = 10n ** BigInt(DIGITS);

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * `s` in units, or null when it is not a plain decimal or has non-zero digits beyond `maxDigits`
 * decimals (trailing zeros are fine: `"2.000000"` is a count of 2).
 */
export function parse(s: string | null | undefined, maxDigits = DIGITS): bigint | null {
  if (s === null || s === undefined) return null;
  const m = DECIMAL.exec(s.trim());
  if (!m) return null;
  const frac = (m[3] ?? "").replace(/0+$/, "");
  if (frac.length > maxDigits || frac.length > DIGITS) return null;
  const v = BigInt(m[2]!) * ONE + BigInt(frac.padEnd(DIGITS, "0") || "0");
  return m[1] === "-" ? -v : v;
}

/** `v` as a decimal string with at least `minDigits` decimals and no trailing zeros beyond. */
export function format(v: bigint, minDigits = 2): string {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const whole = abs / ONE;
  let frac = (abs % ONE).toString().padStart(DIGITS, "0").replace(/0+$/, "");
  if (frac.length < minDigits) frac = frac.padEnd(minDigits, "0");
  return `${neg ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

/** `a · b`, exact: throws when the product has more than 8 decimals (an invariant). */
export function mul(a: bigint, b: bigint): bigint {
  const p = a * b;
  if (p % ONE !== 0n) throw new RangeError(`Cannot multiply ${format(a)} by ${format(b)} exactly`);
  return p / ONE;
}

/** `a · part / whole` rounded down to a unit (a share of `a`; the caller keeps the remainder). */
export function share(a: bigint, part: bigint, whole: bigint): bigint {
  if (whole <= 0n) throw new RangeError("Cannot share over a non-positive whole");
  return (a * part) / whole;
}

/** `a / b` rounded half away from zero to `digits` decimals (an average price). */
export function div(a: bigint, b: bigint, digits = 6): bigint {
  if (b === 0n) throw new RangeError("Cannot divide by zero");
  const step = 10n ** BigInt(DIGITS - digits);
  const neg = (a < 0n) !== (b < 0n);
  const n = (a < 0n ? -a : a) * ONE;
  const d = b < 0n ? -b : b;
  // floor((floor(x) + step/2) / step) = floor((x + step/2) / step): half up on the true quotient.
  const v = ((n / d + step / 2n) / step) * step;
  return neg ? -v : v;
}

/** The smaller of two values. */
export function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
