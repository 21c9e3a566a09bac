import assert from "node:assert/strict";
import { backupFileName, backupsToDelete, isoWeek, parseBackupFileName } from "./rotation.ts";

Deno.test("backupFileName() names a backup by its UTC start time and parses back", () => {
  const at = Date.UTC(2026, 10, 24, 4, 0, 7, 999);
  const name = backupFileName(at);
  assert.equal(name, "recio_20261124T040007Z.dump");
  assert.equal(parseBackupFileName(name), Date.UTC(2026, 10, 24, 4, 0, 7));
});

Deno.test("parseBackupFileName() rejects other names and impossible dates", () => {
  for (
    const bad of [
      "recio_20261124T040007Z.dump.partial",
      "notes.txt",
      "recio_20261324T040007Z.dump",
      "recio_20260231T000000Z.dump",
      "other_20261124T040007Z.dump",
    ]
  ) {
    assert.equal(parseBackupFileName(bad), undefined, bad);
  }
});

Deno.test("isoWeek() follows ISO 8601 across a year boundary", () => {
  assert.equal(isoWeek(Date.UTC(2026, 0, 1)), "2026-W01"); // a Thursday
  assert.equal(isoWeek(Date.UTC(2027, 0, 1)), "2026-W53"); // a Friday in week 53 of 2026
  assert.equal(isoWeek(Date.UTC(2024, 11, 30)), "2025-W01"); // a Monday
  assert.equal(isoWeek(Date.UTC(2026, 10, 23)), "2026-W48");
  assert.equal(isoWeek(Date.UTC(2026, 10, 29, 23, 59)), "2026-W48"); // Sunday
});

Deno.test("backupsToDelete() keeps the newest per day for keepDaily days and per week for keepWeekly weeks", () => {
  const day = 86_400_000;
  const start = Date.UTC(2026, 9, 1, 4); // Thursday 2026-10-01
  // One backup a day for 60 days, plus a second one on the last day.
  const names = Array.from({ length: 60 }, (_, i) => backupFileName(start + i * day));
  const last = start + 59 * day;
  names.push(backupFileName(last + 3_600_000));
  names.push("unrelated.txt");
  const deleted = backupsToDelete(names, { keepDaily: 7, keepWeekly: 4 });
  const kept = names.filter((n) => !deleted.includes(n));
  assert.ok(kept.includes("unrelated.txt"), "unparseable names are never deleted");
  const keptBackups = kept.filter((n) => n !== "unrelated.txt").sort();
  // The last 7 days (newest of the last day only), plus the newest of 4 ISO weeks, some of which
  // are among those 7 days.
  const daily = Array.from({ length: 6 }, (_, i) => backupFileName(last - (i + 1) * day));
  daily.push(backupFileName(last + 3_600_000));
  for (const d of daily) assert.ok(keptBackups.includes(d), `keeps daily ${d}`);
  assert.ok(!keptBackups.includes(backupFileName(last)), "an older one of the same day goes");
  const weeks = new Set(keptBackups.map((n) => isoWeek(parseBackupFileName(n)!)));
  assert.ok(weeks.size >= 4);
  const weekly = keptBackups.filter((n) => !daily.includes(n));
  for (const w of weekly) {
    // Each extra kept backup is the newest of its week.
    const at = parseBackupFileName(w)!;
    const sameWeek = names.filter((n) => {
      const t = parseBackupFileName(n);
      return t !== undefined && isoWeek(t) === isoWeek(at);
    });
    assert.equal(w, sameWeek.sort().at(-1));
  }
  assert.equal(keptBackups.length + deleted.length, 61);
  assert.ok(keptBackups.length <= 7 + 4);
  assert.ok(weekly.length >= 1, "weekly backups reach beyond the daily ones");
});

Deno.test("backupsToDelete() deletes nothing while under the limits", () => {
  const names = [backupFileName(Date.UTC(2026, 0, 1)), backupFileName(Date.UTC(2026, 0, 2))];
  assert.deepEqual(backupsToDelete(names, { keepDaily: 7, keepWeekly: 0 }), []);
  assert.deepEqual(backupsToDelete(names, { keepDaily: 1, keepWeekly: 0 }), [names[0]]);
});
