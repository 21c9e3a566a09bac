/**
 * Parity of one legacy part with its target table: both sides are streamed in key order and
 * merged. The source side hashes every canonical source row; the target side hashes the target
 * rows whose key the source also has (rows other sources or the live system wrote are counted as
 * `targetExtra`, not compared). Each row is hashed as `JSON.stringify(values) + "\n"` in key
 * order with SHA-256, so equal hashes mean equal rows in equal order. The first mismatching keys
 * are listed.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Sql } from "../lib/db.ts";
import { compareKeys, type Excluded, type Part, type ReadContext } from "./_part.ts";
import { type Keyed, KeyOrder, type ReadStats, sameValues } from "./order.ts";

export type { ReadStats } from "./order.ts";

/** At most this many mismatching keys are listed. */
export const MAX_LISTED = 10;

/** A key whose rows differ, or that one side lacks. */
export interface Mismatch {
  key: string;
  problem: "missing_in_target" | "different";
  /** Columns whose values differ. */
  columns?: string[];
}

/** Result of {@linkcode parity}. */
export interface ParityResult {
  sourceRows: number;
  targetRows: number;
  sourceSha256: string;
  targetSha256: string;
  mismatchCount: number;
  mismatches: Mismatch[];
  /** Target rows inside the source's key range that the source does not have. */
  targetExtra: number;
  duplicates: number;
}

/**
 * The part's rows in strict key order (see {@linkcode KeyOrder}): a conflicting repeat or a key
 * out of order is a row error naming the file.
 */
export async function* orderedRows(
  part: Part,
  file: string,
  ctx: ReadContext,
  stats: ReadStats,
): AsyncGenerator<Keyed> {
  const order = new KeyOrder(part, file, stats);
  let out: Keyed[] = [];
  for await (const row of part.rows(ctx)) {
    order.push(row, out);
    if (out.length > 0) {
      yield* out;
      out = [];
    }
  }
  order.end(out);
  yield* out;
}

/** Options of {@linkcode parity}. */
export interface ParityOptions {
  /**
   * Rows PostgreSQL refused while this run imported them, by `JSON.stringify(key)`: left out of
   * the source side and recorded with `ctx.exclude`, as a reader's rejections are.
   */
  refused?: ReadonlyMap<string, Excluded>;
}

/** Streams both sides of `part` in key order and compares them. */
export async function parity(
  sql: Sql,
  part: Part,
  file: string,
  ctx: ReadContext,
  options: ParityOptions = {},
): Promise<ParityResult> {
  const stats: ReadStats = { duplicates: 0 };
  const sHash = createHash("sha256");
  const tHash = createHash("sha256");
  const result: ParityResult = {
    sourceRows: 0,
    targetRows: 0,
    sourceSha256: "",
    targetSha256: "",
    mismatchCount: 0,
    mismatches: [],
    targetExtra: 0,
    duplicates: 0,
  };
  const miss = (m: Mismatch) => {
    result.mismatchCount++;
    if (result.mismatches.length < MAX_LISTED) result.mismatches.push(m);
  };
  let target: AsyncIterator<(string | null)[]> | undefined;
  let t: { key: string[]; values: (string | null)[] } | undefined;
  let tDone = false;
  const nextTarget = async () => {
    const n = await target!.next();
    if (n.done) {
      tDone = true;
      t = undefined;
    } else {
      t = { key: part.keyOf(n.value), values: n.value };
    }
  };
  try {
    for await (const s of orderedRows(part, file, ctx, stats)) {
      const refused = options.refused?.size
        ? options.refused.get(JSON.stringify(s.key))
        : undefined;
      if (refused) {
        ctx.exclude(refused);
        continue;
      }
      if (!target) {
        target = part.targetRows(sql, s.key[0] ?? null)[Symbol.asyncIterator]();
        await nextTarget();
      }
      result.sourceRows++;
      sHash.update(JSON.stringify(s.values) + "\n");
      while (!tDone && t && compareKeys(t.key, s.key) < 0) {
        result.targetExtra++;
        await nextTarget();
      }
      if (t && compareKeys(t.key, s.key) === 0) {
        result.targetRows++;
        tHash.update(JSON.stringify(t.values) + "\n");
        if (!sameValues(t.values, s.values)) {
          const tv = t.values;
          miss({
            key: s.key.join(" "),
            problem: "different",
            columns: part.columns.filter((_, i) => tv[i] !== s.values[i]),
          });
        }
        await nextTarget();
      } else {
        miss({ key: s.key.join(" "), problem: "missing_in_target" });
      }
    }
  } finally {
    await target?.return?.();
  }
  result.sourceSha256 = sHash.digest("hex");
  result.targetSha256 = tHash.digest("hex");
  result.duplicates = stats.duplicates;
  return result;
}

/** Turns a postgres.js cursor of row objects into value arrays (column order of the query). */
export async function* cursorValues(
  cursor: AsyncIterable<readonly Record<string, unknown>[]>,
): AsyncGenerator<(string | null)[]> {
  for await (const batch of cursor) {
    for (const row of batch) {
      yield Object.values(row).map((v) => (v === null || v === undefined ? null : String(v)));
    }
  }
}
