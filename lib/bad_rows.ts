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

/** `cleanText` through a JSON value: every string and key; non-finite numbers become null. */
export function cleanJson<T>(value: T, maxChars = 10_000): T {
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return cleanText(v, maxChars);
    if (typeof v === "number") return Number.isFinite(v) ? v : null;
    if (v === null || typeof v !== "object" || depth > 32) return v;
    if (v instanceof Date) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[cleanText(k, 200)] = walk(x, depth + 1);
    return out;
  };
  return walk(value, 0) as T;
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
