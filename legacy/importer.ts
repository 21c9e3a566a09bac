/**
 * The legacy import and its verification. Each source file is imported in ONE transaction
 * (batches of multi-row inserts with ON CONFLICT DO NOTHING on the natural keys), so a second run
 * adds nothing and a failing file leaves nothing behind; other files are still imported. A batch
 * PostgreSQL refuses for its data is written again in halves inside savepoints, down to single
 * rows: each row it still refuses is a rejected row of its file (`refused_by_database`, counted
 * like the readers' rejections and left out of its parity), every other row is imported. After
 * the commit, parity is computed per part by streaming both sides again.
 *
 * A part that offers the COPY path (`bulk.ts`, the per-second price logs) goes through COPY
 * instead, hashed for parity on the way; its parity is then proven by digests computed in SQL
 * (`digest.ts`) and settled by the merge only when they differ. When PostgreSQL refuses anything on
 * that path the file's transaction is rolled back and the file imported again through the row path
 * above, which reports the refused rows.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type Clock, systemClock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import { cleanText, rejectionReason, writeSplitting } from "../lib/bad_rows.ts";
import { redactText } from "../lib/log.ts";
import type { Excluded, Part, ReadContext, Source, SourceRow } from "./_part.ts";
import { findSources } from "./detect.ts";
import { BulkFailed, copyPart, digestPart } from "./bulk.ts";
import { digestParity, type SourceDigest } from "./digest.ts";
import { orderedRows, parity, type ParityResult } from "./parity.ts";
import { type LegacyReport, type ReportEntry, reportOk, storeReport } from "./report.ts";

/** Options of {@linkcode importLegacy} and {@linkcode verifyLegacy}. */
export interface ImportOptions {
  /** Read and report, write nothing (not even the run rows). */
  dryRun?: boolean;
  /** Rows per insert statement (default 5,000). */
  batchSize?: number;
  clock?: Clock;
  log?: Logger;
  /** Store the report in `system.legacy_import_runs` (default true unless dry run). */
  store?: boolean;
}

const LISTED = 10;

/** Collects excluded rows: every one counted per reason, only the first {@linkcode LISTED} kept. */
function collector() {
  const excluded: Excluded[] = [];
  const byReason: Record<string, number> = {};
  let count = 0;
  return {
    excluded,
    byReason,
    get count() {
      return count;
    },
    exclude(e: Excluded) {
      count++;
      byReason[e.reason] = (byReason[e.reason] ?? 0) + 1;
      if (excluded.length < LISTED) excluded.push(e);
    },
  };
}

function entryOf(
  source: Source,
  part: Part | undefined,
  mode: ReportEntry["mode"],
  startedAt: string,
  now: string,
): ReportEntry {
  return {
    path: source.path,
    kind: part?.kind ?? source.kind,
    target: part?.target ?? null,
    mode,
    status: "failed",
    startedAt,
    finishedAt: now,
    sourceRows: null,
    targetRows: null,
    inserted: 0,
    duplicates: 0,
    targetExtra: 0,
    sourceSha256: null,
    targetSha256: null,
    mismatchCount: 0,
    mismatches: [],
    excludedCount: 0,
    excludedByReason: {},
    excluded: [],
    lossy: part?.lossy ?? [],
    notes: part?.notes ?? [],
    error: null,
  };
}

function applyParity(e: ReportEntry, p: ParityResult, mode: ReportEntry["mode"]): void {
  e.sourceRows = p.sourceRows;
  e.targetRows = p.targetRows;
  e.sourceSha256 = p.sourceSha256;
  e.targetSha256 = p.targetSha256;
  e.mismatchCount = p.mismatchCount;
  e.mismatches = p.mismatches;
  e.targetExtra = p.targetExtra;
  e.duplicates = p.duplicates;
  const equal = p.mismatchCount === 0 && p.sourceRows === p.targetRows &&
    p.sourceSha256 === p.targetSha256;
  e.status = mode === "dry_run" ? "dry_run" : equal ? "ok" : "mismatch";
}

/** What importing one source did per part: rows added, and rows PostgreSQL refused by key. */
interface Imported {
  added: number[];
  refused: Map<string, Excluded>[];
  /** For a part imported through COPY: its source digest and the rows it left out on the way. */
  bulk: ({ digest: SourceDigest; excluded: Collector } | undefined)[];
}

type Collector = ReturnType<typeof collector>;

/** The key of a refused row in {@linkcode Imported}'s maps (the part's key, as parity sees it). */
const refusedKey = (key: readonly string[]) => JSON.stringify(key);

/** Whether a part goes through the COPY path (`bulk.ts`). */
function usesBulk(part: Part): boolean {
  return part.bulk !== undefined && !part.prepare && !part.finish;
}

type SourceOptions = Required<Pick<ImportOptions, "batchSize">> & { clock: Clock; log?: Logger };

/**
 * Imports one source in one transaction: through COPY for the parts that offer it, and when the
 * COPY path meets a database error (a row PostgreSQL refuses, say), once more from the start
 * through the row path, which splits out the refused rows.
 */
async function importSource(sql: Sql, source: Source, options: SourceOptions): Promise<Imported> {
  if (source.parts.some(usesBulk)) {
    try {
      return await importParts(sql, source, options, true);
    } catch (e) {
      if (!(e instanceof BulkFailed)) throw e;
      options.log?.warn(
        "Legacy import of {path} through COPY failed, importing it row by row: " +
          "{error}",
        { path: source.path, error: redactText(e.message) },
      );
    }
  }
  return await importParts(sql, source, options, false);
}

async function importParts(
  sql: Sql,
  source: Source,
  options: SourceOptions,
  bulk: boolean,
): Promise<Imported> {
  const nowMs = options.clock.now();
  return await sql.begin(async (tx) => {
    const out: Imported = { added: [], refused: [], bulk: [] };
    for (const part of source.parts) {
      if (bulk && usesBulk(part)) {
        const excluded = collector();
        const r = await copyPart(tx, part, {
          file: source.path,
          ctx: { nowMs, exclude: excluded.exclude },
        });
        out.added.push(r.added);
        out.refused.push(new Map());
        out.bulk.push({ digest: r.digest, excluded });
        continue;
      }
      const ctx: ReadContext = { nowMs, exclude: () => {} };
      const refused = new Map<string, Excluded>();
      let batch: (SourceRow & { key: string[] })[] = [];
      let n = 0;
      // A part of a batch in a savepoint: a refusal rolls back only that part.
      const write = (rows: readonly (SourceRow & { key: string[] })[]) =>
        writeSplitting(rows, {
          write: async (some) => {
            n += await tx.savepoint((sp) => part.insert(sp, [...some]));
          },
          onReject: (row, e) => {
            const detail = rejectionReason(e);
            refused.set(refusedKey(row.key), {
              ref: cleanText(row.ref, 200),
              reason: "refused_by_database",
              detail,
            });
            options.log?.warn("Legacy row {ref} of {path} refused by PostgreSQL: {detail}", {
              ref: cleanText(row.ref, 200),
              path: source.path,
              detail,
            });
          },
        });
      for await (const row of orderedRows(part, source.path, ctx, { duplicates: 0 })) {
        batch.push(row);
        if (batch.length >= options.batchSize) {
          await write(batch);
          batch = [];
        }
      }
      if (batch.length) await write(batch);
      await part.finish?.(tx);
      out.added.push(n);
      out.refused.push(refused);
      out.bulk.push(undefined);
    }
    return out;
  }) as unknown as Imported;
}

/**
 * The parity of one part. A part with a COPY path is checked by digests first (`digest.ts`: the
 * source digest from its import, or read now), settled by the merge (`parity()`) only when the
 * digests differ or rows were refused; `collect` receives the rows left out by the pass that
 * counts.
 */
async function partParity(
  sql: Sql,
  part: Part,
  file: string,
  o: {
    nowMs: number;
    refused: ReadonlyMap<string, Excluded>;
    bulk: Imported["bulk"][number];
    collect: (c: Collector) => void;
  },
): Promise<ParityResult> {
  if (usesBulk(part) && o.refused.size === 0) {
    let bulk = o.bulk;
    if (!bulk) {
      const excluded = collector();
      const digest = await digestPart(part, {
        file,
        ctx: { nowMs: o.nowMs, exclude: excluded.exclude },
      });
      bulk = { digest, excluded };
    }
    const p = await digestParity(sql, part, bulk.digest);
    if (p) {
      o.collect(bulk.excluded);
      return p;
    }
  }
  const c = collector();
  o.collect(c);
  return await parity(sql, part, file, { nowMs: o.nowMs, exclude: c.exclude }, {
    refused: o.refused,
  });
}

async function run(
  sql: Sql,
  paths: readonly string[],
  mode: ReportEntry["mode"],
  options: ImportOptions,
): Promise<LegacyReport> {
  const clock = options.clock ?? systemClock;
  const iso = () => new Date(clock.now()).toISOString();
  const found = await findSources(paths);
  const entries: ReportEntry[] = [];
  for (const u of found.unreadable) {
    const e = entryOf(
      { path: u.path, kind: u.kind, parts: [], close() {} },
      undefined,
      mode,
      iso(),
      iso(),
    );
    e.error = redactText(u.error);
    entries.push(e);
  }
  for (const source of found.sources) {
    const startedAt = iso();
    try {
      let imported: Imported = {
        added: source.parts.map(() => 0),
        refused: source.parts.map(() => new Map()),
        bulk: source.parts.map(() => undefined),
      };
      let failure: string | null = null;
      if (mode === "import") {
        try {
          imported = await importSource(sql, source, {
            batchSize: options.batchSize ?? 5000,
            clock,
            log: options.log,
          });
        } catch (e) {
          failure = redactText((e as Error).message);
          options.log?.error("Legacy import of {path} failed: {error}", {
            path: source.path,
            error: failure,
          });
        }
      }
      for (const [i, part] of source.parts.entries()) {
        const e = entryOf(source, part, mode, startedAt, iso());
        entries.push(e);
        if (failure) {
          e.error = failure;
          continue;
        }
        let c = collector();
        try {
          const checked = await partParity(sql, part, source.path, {
            nowMs: clock.now(),
            refused: imported.refused[i]!,
            bulk: imported.bulk[i],
            collect: (x) => c = x,
          });
          applyParity(e, checked, mode);
          e.inserted = imported.added[i] ?? 0;
        } catch (err) {
          e.status = "failed";
          e.error = redactText((err as Error).message);
        }
        e.excluded = c.excluded;
        e.excludedCount = c.count;
        e.excludedByReason = c.byReason;
        e.finishedAt = iso();
      }
    } finally {
      source.close();
    }
  }
  const report: LegacyReport = { ok: reportOk(entries), entries, ignored: found.ignored };
  if ((options.store ?? true) && mode !== "dry_run") {
    await storeReport(sql, entries, { log: options.log });
  }
  return report;
}

/**
 * Imports every legacy store found under `paths` and proves parity per part. With `dryRun`,
 * reads and reports only.
 */
export function importLegacy(
  sql: Sql,
  paths: readonly string[],
  options: ImportOptions = {},
): Promise<LegacyReport> {
  return run(sql, paths, options.dryRun ? "dry_run" : "import", options);
}

/** Recomputes parity of every legacy store under `paths`; writes only its report rows. */
export function verifyLegacy(
  sql: Sql,
  paths: readonly string[],
  options: ImportOptions = {},
): Promise<LegacyReport> {
  return run(sql, paths, options.dryRun ? "dry_run" : "verify", options);
}
