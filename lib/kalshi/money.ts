/**
 * Exact decimal handling for Kalshi amounts: integer cents (legacy fields) become dollar strings
 * with integer arithmetic, decimal strings are validated and kept as written, and decimals are
 * compared as scaled `bigint`s. No amount ever passes through float rounding here.
 *
 * @module
 */

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** True when `s` is a plain decimal number (`"0.5600"`, `"-12"`, `"114999.99"`). */
export function isDecimal(s: string): boolean {
  return DECIMAL.test(s);
}

/** `units` integer minor units at `10^-digits` as a decimal string: `(1234, 2)` → `"12.34"`. */
export function scaledToDecimal(units: bigint | number, digits: number): string {
  if (typeof units === "number" && !Number.isSafeInteger(units)) {
    throw new RangeError(`Cannot convert ${units}: not a safe integer`);
  }
  const v = BigInt(units);
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const base = 10n ** BigInt(digits);
  const whole = abs / base;
  const frac = (abs % base).toString().padStart(digits, "0");
  return `${neg ? "-" : ""}${whole}${digits > 0 ? `.${frac}` : ""}`;
}

/** Integer cents as dollars: `5600` → `"56.00"`, `-5` → `"-0.05"`. */
export function centsToDollars(cents: number): string {
  return scaledToDecimal(cents, 2);
}

/** Integer centi-cents (1/10,000 dollar, the legacy WebSocket unit) as dollars. */
export function centiCentsToDollars(v: number): string {
  return scaledToDecimal(v, 4);
}

/**
 * A JSON number as a decimal string. JSON numbers are already binary doubles; `String()` gives
 * the shortest text that reads back as the same double, which is the number as written for the
 * values Kalshi sends (strikes like `114999.99`).
 */
export function numberToDecimal(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError("Cannot convert a non-finite number");
  const s = String(n);
  if (isDecimal(s)) return s;
  // Exponent form (1e-7, 1e21): expand exactly from the double's decimal digits.
  return n.toFixed(20).replace(/\.?0+$/, "");
}

/** A decimal string as an integer scaled by `10^digits` (truncating extra digits). */
export function decimalToScaled(s: string, digits = 6): bigint {
  if (!isDecimal(s)) throw new RangeError(`Cannot read "${s}" as a decimal number`);
  const neg = s.startsWith("-");
  const [whole, frac = ""] = (neg ? s.slice(1) : s).split(".");
  const v = BigInt(whole!) * 10n ** BigInt(digits) +
    BigInt((frac + "0".repeat(digits)).slice(0, digits) || "0");
  return neg ? -v : v;
}

/** Compares two decimal strings exactly: negative, zero or positive. */
export function compareDecimal(a: string, b: string): number {
  const d = decimalToScaled(a, 12) - decimalToScaled(b, 12);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}
