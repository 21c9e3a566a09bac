/**
 * One bad value never stalls a writer. Text from outside is cleaned before it is queued (NUL
 * bytes, which PostgreSQL text and jsonb refuse, and unpaired surrogates, which cannot be encoded
 * as UTF-8), and a batch that PostgreSQL refuses for its data, not for its connection, is split
 * until the rows it refuses are alone: those are dropped and reported, every other row is written.
 * A connection error is thrown as before, so the writer keeps the batch and retries it.
 *
 * @example
 * ```ts
 * import { cleanText, writeSplitting } from "./bad_rows.ts";
 * const written: string[] = [];
 * const rejected = await writeSplitting(["a", "bad", "c"], {
 *   write: async (rows) => {
 *     if (rows.includes("bad")) throw Object.assign(new Error("invalid"), { code: "22P02" });
 *     written.push(...rows);
 *   },
 *   onReject: () => {},
 * });
 * console.log(written, rejected, cleanText("a\u0000b")); // ["a", "c"] 1 "ab"
 * ```
 *
 * @module
 */

/** Text safe to store: no NUL, well-formed UTF-16 (so valid UTF-8), at most `maxChars`. */
export function cleanText(value: string, maxChars = 10_000): string {
  let out = value.includes("\u0000") ? value.replaceAll("\u0000", "") : value;
  if (!out.isWellFormed()) out = out.toWellFormed();
  if (out.length > maxChars) {
    // Never cut a surrogate pair in half.
    const end = /[\uD800-\uDBFF]/.test(out[maxChars - 1] ?? "") ? maxChars - 1 : maxChars;
    out = `${out.slice(0, end)}…`;
  }
  return out;
}

/**
 * `cleanText` through a JSON value: every string and key; non-finite numbers become null and a
 * bigint (which JSON cannot carry) its decimal text.
 */
export function cleanJson<T>(value: T, maxChars = 10_000): T {
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return cleanText(v, maxChars);
    if (typeof v === "number") return Number.isFinite(v) ? v : null;
    if (typeof v === "bigint") return v.toString();
    if (v === null || typeof v !== "object" || depth > 32) return v;
    if (v instanceof Date) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[cleanText(k, 200)] = walk(x, depth + 1);
    return out;
  };
  return walk(value, 0) as T;
}

/** Why a text would be refused at the edge, for a writer that rejects rather than cleans. */
export interface TextProblem {
  /** Counted reason: `nul_character`, `invalid_unicode` or `text_too_long`. */
  reason: "nul_character" | "invalid_unicode" | "text_too_long";
  detail: string;
}

/**
 * What is wrong with `value` for PostgreSQL text or jsonb, or null when nothing is: a NUL, an
 * unpaired surrogate (invalid UTF-8 decoded by {@linkcode decodeUtf8}, or a `\uD800` escape), or
 * more than `maxChars` UTF-16 code units.
 */
export function textProblem(value: string, maxChars = 10_000): TextProblem | null {
  if (value.includes("\u0000")) {
    return { reason: "nul_character", detail: "contains a NUL character" };
  }
  if (!value.isWellFormed()) {
    return {
      reason: "invalid_unicode",
      detail: "is not valid UTF-8 (or holds an unpaired surrogate)",
    };
  }
  if (value.length > maxChars) {
    return {
      reason: "text_too_long",
      detail: `is ${value.length} characters long (at most ${maxChars})`,
    };
  }
  return null;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
/** For the parts after the first: a U+FEFF there is text, not a BOM. */
const strictUtf8KeepBom = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function utf8SequenceAt(b: Uint8Array, i: number): number {
  const x = b[i]!;
  if (x < 0x80) return 1;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => j < b.length && b[j]! >= lo && b[j]! <= hi;
  if (x >= 0xc2 && x <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (x >= 0xe0 && x <= 0xef) {
    const [lo, hi] = x === 0xe0 ? [0xa0, 0xbf] : x === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (x >= 0xf0 && x <= 0xf4) {
    const [lo, hi] = x === 0xf0 ? [0x90, 0xbf] : x === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

/**
 * Decodes UTF-8 as `TextDecoder` does (a leading BOM dropped), except that each byte of an
 * invalid sequence becomes an unpaired surrogate (U+DFFF) instead of U+FFFD, which a valid file
 * may hold too: a reader can then refuse exactly the values that were not valid UTF-8
 * ({@linkcode textProblem} says `invalid_unicode`) instead of storing a guess.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    // Slow path, only for input that is not valid UTF-8.
  }
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = utf8SequenceAt(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    const d = start === 0 ? strictUtf8 : strictUtf8KeepBom;
    out.push(d.decode(bytes.subarray(start, i)), "\uDFFF");
    start = ++i;
  }
  out.push((start === 0 ? strictUtf8 : strictUtf8KeepBom).decode(bytes.subarray(start)));
  return out.join("");
}

/**
 * Whether PostgreSQL refused a statement for the data in it (SQLSTATE classes 22, data
 * exception, and 23, integrity constraint violation, and a value of the wrong type), as
 * opposed to a lost connection or a server going away, after which the same rows may succeed.
 */
export function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return code.startsWith("22") || code.startsWith("23") || code === "42804";
}

/** The SQLSTATE and message of a refused row, for the (rate-limited) log. */
export function rejectionReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return cleanText(`${typeof code === "string" ? `${code} ` : ""}${message}`, 300);
}

/** What {@linkcode writeSplitting} does with rows. */
export interface SplitWriter<T> {
  /** Writes rows in one statement or transaction; throws what PostgreSQL threw. */
  write(rows: readonly T[]): Promise<void>;
  /** A row PostgreSQL refused alone, with its error: drop it and count it. */
  onReject(row: T, error: unknown): void;
  /**
   * Rows handled (written, or refused and reported), in order, as each part completes: a
   * connection error later on leaves only the rows after them to retry.
   */
  onDone?(rows: readonly T[]): void;
}

/**
 * Writes `rows`; when PostgreSQL refuses a batch for its data, writes its halves apart, down to
 * single rows, and hands each refused row to `onReject`. Resolves to the number of rows refused.
 * Any other error (a connection error) is thrown: the rows not yet passed to `onDone` are to be
 * kept and retried. Rows keep their order.
 */
export async function writeSplitting<T>(rows: readonly T[], w: SplitWriter<T>): Promise<number> {
  if (rows.length === 0) return 0;
  try {
    await w.write(rows);
    w.onDone?.(rows);
    return 0;
  } catch (e) {
    if (!isDataError(e)) throw e;
    if (rows.length === 1) {
      w.onReject(rows[0]!, e);
      w.onDone?.(rows);
      return 1;
    }
    const mid = Math.ceil(rows.length / 2);
    return await writeSplitting(rows.slice(0, mid), w) + await writeSplitting(rows.slice(mid), w);
  }
}
