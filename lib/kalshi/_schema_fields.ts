/**
 * The building blocks of the Kalshi schemas (see `schemas.ts` for the rules): storable text,
 * decimals, and amounts and counts read from their current or legacy field.
 *
 * @module
 */
import { z } from "zod";
import { cleanJson, cleanText, textProblem } from "../bad_rows.ts";
import { centsToDollars, isDecimal, numberToDecimal } from "./money.ts";

/** Most characters of an identifier or code. */
export const KEY_CHARS = 200;
/** Most characters of a title. */
export const TITLE_CHARS = 2_000;
/** Most characters of a decimal string (Kalshi's are a dozen or so). */
export const DECIMAL_CHARS = 64;
/** Most characters of a string inside a stored `raw` payload. */
const RAW_CHARS = 10_000;

/** A string refused when it holds a NUL, broken UTF-16 or more than `max` characters. */
export function storableText(max: number) {
  return z.string().superRefine((value, ctx) => {
    const p = textProblem(value, max);
    if (p) {
      ctx.addIssue({ code: "custom", message: `text ${p.detail}`, params: { reason: p.reason } });
    }
  });
}
/** An identifier or code: refused, not cleaned (a changed ticker names another market). */
export const Key = storableText(KEY_CHARS);
/** An identifier or code that may not be empty. */
export const RequiredKey = Key.pipe(z.string().min(1));
/** Free text shown to people: cleaned of a NUL and broken UTF-16, bounded. */
export const Title = z.string().transform((v) => cleanText(v, TITLE_CHARS));

/** The text reason of the first issue of a failed parse, when it is one. */
export function textReason(
  error: z.ZodError,
): "nul_character" | "invalid_unicode" | "text_too_long" | null {
  for (const issue of error.issues) {
    const reason = (issue as { params?: { reason?: unknown } }).params?.reason;
    if (reason === "nul_character" || reason === "invalid_unicode" || reason === "text_too_long") {
      return reason;
    }
  }
  return null;
}

/** The `raw` payload stored with a row: its strings cleaned and bounded. */
export const raw = (r: Record<string, unknown>) => cleanJson(r, RAW_CHARS);

/** A decimal amount: a decimal string as sent, or a JSON number. */
export const Decimal = z.union([
  z.string().max(DECIMAL_CHARS).refine(isDecimal, "expected a decimal string"),
  z.number().refine(Number.isFinite, "expected a finite number"),
]).transform((v) => (typeof v === "number" ? numberToDecimal(v) : v));

/** Legacy integer cents. */
export const Cents = z.number().int();
/** An ISO 8601 time with its offset. */
export const Time = z.iso.datetime({ offset: true });
/** Optional: absent or null. */
export const opt = <T extends z.ZodType>(s: T) => s.nullish();

type Ctx = z.core.$RefinementCtx;

/** Dollars from `<name>_dollars` or legacy integer cents `<name>`; null when neither is there. */
export function money(v: Record<string, unknown>, name: string): string | null {
  const d = v[`${name}_dollars`];
  if (typeof d === "string") return d;
  const c = v[name];
  return typeof c === "number" ? centsToDollars(c) : null;
}

/** A count from `<name>_fp` or the legacy integer `<name>`. */
export function count(v: Record<string, unknown>, name: string): string | null {
  const fp = v[`${name}_fp`];
  if (typeof fp === "string") return fp;
  const n = v[name];
  return typeof n === "number" ? String(n) : null;
}

/** Adds a "missing" issue when `value` is null. */
export function need<T>(ctx: Ctx, value: T | null, what: string): value is T {
  if (value !== null) return true;
  ctx.addIssue({ code: "custom", message: `missing ${what}`, input: undefined });
  return false;
}

const dollarsField = opt(Decimal);
const centsField = opt(Cents);
/** Keys of one amount in both forms. */
export const amount = (name: string) => ({ [`${name}_dollars`]: dollarsField, [name]: centsField });
/** Keys of one count in both forms. */
export const counted = (name: string) => ({
  [`${name}_fp`]: dollarsField,
  [name]: opt(z.number()),
});
