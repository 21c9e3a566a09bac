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
import {
  badRow,
  compareKeys,
  type Excluded,
  type Part,
  type ReadContext,
  type SourceRow,
} from "./_part.ts";

/** At most this many mismatching keys are listed. */
export const MAX_LISTED = 10;

/** A key whose rows differ, or that one side lacks. */
export interface Mismatch {
  key: string;
  problem: "missing_in_target" | "different";
  /** Columns whose values differ. */
  columns?: string[];
}

/** Counters collected while reading a source. */
export interface ReadStats {
  /** Identical rows repeated under one key in the legacy file (imported once). */
  duplicates: number;
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

function sameValues(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The part's rows in strict key order: consecutive rows of one group are sorted by key, an
 * identical repeated row is skipped (counted in `stats.duplicates`), a conflicting repeat or a
 * key out of order is a row error naming the file.
 */
export async function* orderedRows(
  part: Part,
  file: string,
  ctx: ReadContext,
  stats: ReadStats,
): AsyncGenerator<SourceRow & { key: string[] }> {
  let prev: (SourceRow & { key: string[] }) | undefined;
  let buffer: (SourceRow & { key: string[] })[] = [];
  let group: string | undefined;
  function* emit(row: SourceRow & { key: string[] }) {
    if (prev) {
      const c = compareKeys(row.key, prev.key);
      if (c === 0) {
        if (sameValues(row.values, prev.values)) {
          stats.duplicates++;
          return;
        }
        throw badRow(file, row.ref, `repeats key ${row.key.join(" ")} with other values`);
      }
      if (c < 0) {
        throw badRow(file, row.ref, `is out of key order (after ${prev.key.join(" ")})`);
      }
    }
    prev = row;
    yield row;
  }
  function* flush() {
    buffer.sort((a, b) => compareKeys(a.key, b.key));
    const rows = buffer;
    buffer = [];
    for (const r of rows) yield* emit(r);
  }
  for await (const row of part.rows(ctx)) {
    const keyed = { ...row, key: part.keyOf(row.values) };
    if (row.group !== undefined && row.group === group) {
      buffer.push(keyed);
      continue;
    }
    yield* flush();
    group = row.group;
    if (group === undefined) yield* emit(keyed);
    else buffer.push(keyed);
  }
  yield* flush();
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
