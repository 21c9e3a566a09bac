/**
 * Backup file names and rotation. A backup is `recio_<UTC time>.dump` (`recio_20260101T040000Z`);
 * rotation keeps the newest backup of each of the last `keepDaily` days that have one, and the
 * newest of each of the last `keepWeekly` ISO weeks that have one (the two sets may overlap), and
 * deletes the rest. Files whose names do not parse are never touched.
 *
 * @module
 */

const NAME = /^recio_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.dump$/;

/** File name of a backup started at `ms` (epoch ms, UTC, second precision). */
export function backupFileName(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-01T04:00:00.000Z
  return `recio_${iso.slice(0, 19).replaceAll("-", "").replaceAll(":", "")}Z.dump`;
}

/** Start time (epoch ms) encoded in a backup file name; `undefined` for any other name. */
export function parseBackupFileName(name: string): number | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return backupFileName(ms) === name ? ms : undefined;
}

/** `YYYY-Www` of the ISO week holding `ms` (UTC). */
export function isoWeek(ms: number): string {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7; // Monday = 0
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/** Rotation limits. */
export interface Keep {
  keepDaily: number;
  keepWeekly: number;
}

/** The names among `names` that rotation deletes (unparseable names are kept). */
export function backupsToDelete(names: readonly string[], keep: Keep): string[] {
  const dated = names
    .map((name) => ({ name, at: parseBackupFileName(name) }))
    .filter((b): b is { name: string; at: number } => b.at !== undefined)
    .sort((a, b) => b.at - a.at);
  const kept = new Set<string>();
  const newestPer = (bucket: (ms: number) => string, count: number) => {
    const seen = new Set<string>();
    for (const b of dated) {
      const key = bucket(b.at);
      if (seen.has(key)) continue;
      if (seen.size >= count) break;
      seen.add(key);
      kept.add(b.name);
    }
  };
  newestPer((ms) => new Date(ms).toISOString().slice(0, 10), keep.keepDaily);
  newestPer(isoWeek, keep.keepWeekly);
  return dated.filter((b) => !kept.has(b.name)).map((b) => b.name);
}
