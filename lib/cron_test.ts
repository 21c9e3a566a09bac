import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";
import { cronProblem, lastCronRun, nextCronRun } from "./cron.ts";
import { ConfigError } from "./errors.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

Deno.test("nextCronRun() gives the next daily run in UTC, strictly after the given time", () => {
  assert.equal(
    iso(nextCronRun("0 3 * * *", at("2026-11-24T02:59:59Z"))),
    "2026-11-24T03:00:00.000Z",
  );
  assert.equal(
    iso(nextCronRun("0 3 * * *", at("2026-11-24T03:00:00Z"))),
    "2026-11-25T03:00:00.000Z",
  );
  assert.equal(
    iso(nextCronRun("30 3 * * *", at("2026-12-31T04:00:00Z"))),
    "2027-01-01T03:30:00.000Z",
  );
});

Deno.test("nextCronRun() handles steps, lists, weekdays and month ends", () => {
  assert.equal(
    iso(nextCronRun("*/15 * * * *", at("2026-11-24T08:07:00Z"))),
    "2026-11-24T08:15:00.000Z",
  );
  assert.equal(
    iso(nextCronRun("0 4,16 * * *", at("2026-11-24T05:00:00Z"))),
    "2026-11-24T16:00:00.000Z",
  );
  // 2026-11-24 is a Tuesday; the next Sunday is the 29th.
  assert.equal(
    iso(nextCronRun("0 4 * * 0", at("2026-11-24T05:00:00Z"))),
    "2026-11-29T04:00:00.000Z",
  );
  assert.equal(
    iso(nextCronRun("0 0 31 * *", at("2026-11-01T00:00:00Z"))),
    "2026-12-31T00:00:00.000Z",
  );
  assert.equal(
    iso(nextCronRun("0 0 29 2 *", at("2026-03-01T00:00:00Z"))),
    "2028-02-29T00:00:00.000Z",
  );
});

Deno.test("cronProblem() accepts five fields and names what is wrong otherwise", () => {
  assert.equal(cronProblem("0 3 * * *"), undefined);
  assert.match(cronProblem("0 0 3 * * *") ?? "", /five fields/); // seconds: Deno.cron refuses
  assert.match(cronProblem("daily") ?? "", /five fields/);
  assert.match(cronProblem("61 3 * * *") ?? "", /minute/);
  assert.match(cronProblem("0 25 * * *") ?? "", /hour/);
  assert.throws(() => nextCronRun("0 25 * * *", 0), TypeError);
});

Deno.test("loadConfig() takes job schedules as cron expressions or off, and names a bad one", () => {
  const c = loadConfig({
    RECIO_JOB_RETENTION: "off",
    RECIO_JOB_BACKUP: "15 2 * * 0",
    RECIO_JOB_KALSHI_INGEST: "off",
  });
  assert.deepEqual(c.jobs.schedules, {
    partition_maintenance: "0 3 * * *",
    retention: null,
    backup: "15 2 * * 0",
    kalshi_historical_ingest: null,
    history_backfill: "45 4 * * *",
  });
  assert.equal(c.jobs.historyBackfillDays, 2);
  assert.equal(c.jobs.retentionMonths, 36);
  assert.deepEqual([c.backup.keepDaily, c.backup.keepWeekly], [7, 4]);
  assert.throws(
    () => loadConfig({ RECIO_JOB_BACKUP: "0 4 * *" }),
    (e: unknown) =>
      e instanceof ConfigError && /RECIO_JOB_BACKUP: a cron expression or "off"/.test(e.message),
  );
  assert.throws(() => loadConfig({ RECIO_RETENTION_MONTHS: "0" }), /RECIO_RETENTION_MONTHS/);
});

Deno.test("lastCronRun() gives the occurrence a handler firing at or after it belongs to", () => {
  const daily = "0 3 * * *";
  assert.equal(iso(lastCronRun(daily, at("2026-11-24T03:00:00Z"))), "2026-11-24T03:00:00.000Z");
  assert.equal(iso(lastCronRun(daily, at("2026-11-24T03:00:00.750Z"))), "2026-11-24T03:00:00.000Z");
  assert.equal(iso(lastCronRun(daily, at("2026-11-24T02:59:59Z"))), "2026-11-23T03:00:00.000Z");
  assert.equal(
    iso(lastCronRun("*/15 * * * *", at("2026-11-24T08:29:59Z"))),
    "2026-11-24T08:15:00.000Z",
  );
  assert.equal(
    lastCronRun(daily, nextCronRun(daily, at("2026-12-31T23:00:00Z"))),
    at("2027-01-01T03:00:00Z"),
  );
  assert.throws(() => lastCronRun("0 25 * * *", 0), /Cannot parse cron expression/);
});
