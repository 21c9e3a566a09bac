/**
 * The import report: one entry per legacy part (table or JSON array), printed as a table,
 * written as JSON and stored one row per entry in `system.legacy_import_runs`.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { cleanJson, cleanText, rejectionReason, writeSplitting } from "../lib/bad_rows.ts";
import type { Sql } from "../lib/db.ts";
import type { Excluded } from "./_part.ts";
import type { Ignored } from "./detect.ts";
import type { Mismatch } from "./parity.ts";

/** `ok`: parity proven; `mismatch`: parity failed; `failed`: the source could not be imported. */
export type EntryStatus = "ok" | "mismatch" | "failed" | "dry_run";

/** One legacy part's outcome. */
export interface ReportEntry {
  path: string;
  kind: string;
  target: string | null;
  mode: "import" | "verify" | "dry_run";
  status: EntryStatus;
  startedAt: string;
  finishedAt: string;
  sourceRows: number | null;
  targetRows: number | null;
  /** Rows this run added to the target. */
  inserted: number;
  duplicates: number;
  targetExtra: number;
  sourceSha256: string | null;
  targetSha256: string | null;
  mismatchCount: number;
  mismatches: Mismatch[];
  /** Rows left out: on purpose (DST gap, unresolved fall-back hour) or rejected as invalid. */
  excludedCount: number;
  /** `excludedCount` per reason, e.g. `{ nonexistent_spring_forward_time: 2, invalid_boolean: 1 }`. */
  excludedByReason: Record<string, number>;
  /** The first excluded rows (at most 10); `excludedCount` says how many there were. */
  excluded: Excluded[];
  lossy: string[];
  notes: string[];
  error: string | null;
}

/** The whole run. */
export interface LegacyReport {
  ok: boolean;
  entries: ReportEntry[];
  ignored: Ignored[];
}

/** True when every entry proved parity (or was a dry run that read cleanly). */
export function reportOk(entries: readonly ReportEntry[]): boolean {
  return entries.every((e) => e.status === "ok" || e.status === "dry_run");
}

/** A fixed-width text table of the report. */
export function formatReport(report: LegacyReport): string {
  const head = ["status", "kind", "target", "source", "target rows", "added", "excl", "file"];
  const rows = report.entries.map((e) => [
    e.status,
    e.kind,
    e.target ?? "-",
    e.sourceRows === null ? "-" : String(e.sourceRows),
    e.targetRows === null ? "-" : String(e.targetRows),
    String(e.inserted),
    String(e.excludedCount),
    e.path,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const out = [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  for (const e of report.entries) {
    if (e.error) out.push(`  ${e.path} [${e.kind}]: ${e.error}`);
    for (const m of e.mismatches) {
      out.push(
        `  ${e.kind} ${e.target}: ${m.problem} key ${m.key}${
          m.columns ? ` (${m.columns.join(", ")})` : ""
        }`,
      );
    }
    if (e.mismatchCount > e.mismatches.length) {
      out.push(`  … ${e.mismatchCount - e.mismatches.length} more mismatching keys`);
    }
    if (e.excludedCount > 0) {
      out.push(`  ${e.kind} ${e.target}: excluded ${e.excludedCount} rows: ${byReason(e)}`);
    }
    for (const x of e.excluded) {
      out.push(`  ${e.kind} excluded ${x.ref}: ${x.reason}: ${x.detail}`);
    }
    if (e.excludedCount > e.excluded.length) {
      out.push(`  … and ${e.excludedCount - e.excluded.length} more excluded rows`);
    }
    if (e.lossy.length) out.push(`  ${e.kind} lossy legacy columns: ${e.lossy.join(", ")}`);
  }
  for (const i of report.ignored) out.push(`  ignored ${i.path}: ${i.reason}`);
  out.push(report.ok ? "parity: OK" : "parity: FAILED");
  return out.join("\n");
}

type Json = Parameters<Sql["json"]>[0];

/** `"3 invalid_boolean, 1 nonexistent_spring_forward_time"`: most frequent reason first. */
function byReason(e: ReportEntry): string {
  return Object.entries(e.excludedByReason)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([reason, n]) => `${n} ${reason}`)
    .join(", ");
}

/** The `mismatches` jsonb object of a run row: everything of the entry not in its own column. */
function summaryOf(e: ReportEntry): Json {
  const summary = {
    target: e.target,
    mode: e.mode,
    count: e.mismatchCount,
    keys: e.mismatches,
    inserted: e.inserted,
    duplicates: e.duplicates,
    targetExtra: e.targetExtra,
    excludedCount: e.excludedCount,
    excludedByReason: e.excludedByReason,
    excluded: e.excluded,
    lossy: e.lossy,
    notes: e.notes,
  };
  // Excluded refs and notes quote the legacy files: cleaned like every stored text.
  return cleanJson(summary, 2_000) as unknown as Json;
}

/**
 * Stores each entry as a row of `system.legacy_import_runs`, its text cleaned; a row PostgreSQL
 * still refuses for its data is logged and left out, the others are stored. Resolves to the
 * number of rows left out.
 */
export async function storeReport(
  sql: Sql,
  entries: readonly ReportEntry[],
  options: { log?: Logger } = {},
): Promise<number> {
  if (entries.length === 0) return 0;
  const rows = entries.map((e) => ({
    started_at: e.startedAt,
    finished_at: e.finishedAt,
    source_path: cleanText(e.path, 2_000),
    source_kind: e.kind,
    dry_run: e.mode === "dry_run",
    status: e.mode === "verify" && e.status !== "failed" ? `verify_${e.status}` : e.status,
    source_rows: e.sourceRows,
    target_rows: e.targetRows,
    source_sha256: e.sourceSha256,
    target_sha256: e.targetSha256,
    // A jsonb parameter takes the object itself: a JSON.stringify'd text would be stored as a
    // JSON string (encoded twice), not as an object whose fields SQL can read.
    mismatches: sql.json(summaryOf(e)),
    error: e.error === null ? null : cleanText(e.error, 20_000),
  }));
  return await writeSplitting(rows, {
    write: (some) => insertRuns(sql, some),
    onReject: (row, error) => {
      options.log?.error("Legacy import run row of {path} refused by PostgreSQL: {reason}", {
        path: row.source_path,
        reason: rejectionReason(error),
      });
    },
  });
}

type RunRow = {
  started_at: string;
  finished_at: string;
  source_path: string;
  source_kind: string;
  dry_run: boolean;
  status: string;
  source_rows: number | null;
  target_rows: number | null;
  source_sha256: string | null;
  target_sha256: string | null;
  mismatches: ReturnType<Sql["json"]>;
  error: string | null;
};

async function insertRuns(sql: Sql, rows: readonly RunRow[]): Promise<void> {
  await sql`insert into system.legacy_import_runs ${
    sql(
      rows as RunRow[],
      "started_at",
      "finished_at",
      "source_path",
      "source_kind",
      "dry_run",
      "status",
      "source_rows",
      "target_rows",
      "source_sha256",
      "target_sha256",
      "mismatches",
      "error",
    )
  }`;
}
