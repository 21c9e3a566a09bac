/**
 * Legacy migration: imports the old REC.IO v2 SQLite and JSON stores (price logs, the Kalshi
 * market log, the account files and JSON mirrors, `trades.db`, the 1-minute history CSVs) into
 * PostgreSQL and proves parity per source with row counts and a key-ordered SHA-256 over
 * canonical rows on both sides (see `canonical.ts` for the rules, `parity.ts` for the hash).
 * Each source file is imported in one transaction with ON CONFLICT DO NOTHING on natural keys:
 * a second run adds nothing, a bad file leaves nothing behind and the others still import. A bad
 * row is rejected and counted per reason (as DST gap rows are excluded); the rest of its file is
 * imported. Text PostgreSQL would refuse or that is not what the file held is a bad row: a NUL,
 * invalid UTF-8 or an unpaired surrogate, a compared value over 800 characters. A row PostgreSQL
 * still refuses (a foreign key) is rejected as `refused_by_database`: its batch is written again
 * in halves inside savepoints, so only that row is left out of the import and of its parity.
 *
 * Run it with `deno task import-legacy -- <path>...` (`--dry-run`, `--report out.json`) and
 * check it again at any time with `deno task verify-legacy -- <path>...`.
 *
 * @example
 * ```ts ignore
 * import { importLegacy } from "./mod.ts";
 * const report = await importLegacy(sql, ["./old/backend/data"]);
 * if (!report.ok) console.error(formatReport(report));
 * ```
 *
 * @module
 */
export { importLegacy, type ImportOptions, verifyLegacy } from "./importer.ts";
export {
  type EntryStatus,
  formatReport,
  type LegacyReport,
  type ReportEntry,
  storeReport,
} from "./report.ts";
export { findSources, type Found, type Ignored } from "./detect.ts";
export type { Mismatch, ParityResult } from "./parity.ts";
export * from "./canonical.ts";
