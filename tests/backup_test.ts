/**
 * Backups against a real PostgreSQL server with the real `pg_dump`/`pg_restore`: a dump recorded
 * with size and SHA-256, restored and verified table by table (also through
 * `deno task backup:verify`), mismatches and corrupt files refused, failures recorded, rotation.
 */
import assert from "node:assert/strict";
import type { Sql } from "../lib/db.ts";
import { pgBinDirs, serverVersion } from "../lib/pg_tools.ts";
import {
  ensureMonthPartitions,
  monthPartitionName,
  timePartitionedTables,
} from "../actors/jobs/_partitions.ts";
import { fileSha256, runBackup } from "../actors/jobs/backup/mod.ts";
import { backupFileName } from "../actors/jobs/backup/rotation.ts";
import { newestBackup } from "../actors/jobs/backup/store.ts";
import { formatVerifyTable, verifyBackup } from "../actors/jobs/backup/verify.ts";
import { tempDir } from "./_temp.ts";
import { createTestDb } from "./_db.ts";
import { NO_PG_TOOLS } from "./_pg_tools.ts";
import { runDeno } from "./_process.ts";

const VERIFY = new URL("../commands/backup_verify.ts", import.meta.url).pathname;

/** The instant the seeded rows start at: data of the test, not the wall clock. */
const SEED_FROM = "2026-11-24T00:00:00Z";
/** The price-log partition the seeded rows belong to, named from the rows' own month. */
const SEED_PARTITION = `live_data.${monthPartitionName("btc_price_log", Date.parse(SEED_FROM))}`;

/**
 * Inserts `n` one-second price rows from `fromIso`, after creating the month's partition (the
 * migrations create partitions from the month they ran in, which need not be the rows' month).
 */
async function seed(sql: Sql, n: number, fromIso = SEED_FROM): Promise<void> {
  const t0 = Date.parse(fromIso);
  const log = (await timePartitionedTables(sql, "live_data")).find((t) =>
    t.table === "btc_price_log"
  )!;
  await ensureMonthPartitions(sql, log, new Date(t0), new Date(t0 + n * 1000));
  const rows = Array.from({ length: n }, (_, i) => ({
    timestamp: new Date(t0 + i * 1000),
    price: `${95000 + i}.12345678`,
  }));
  await sql`insert into live_data.btc_price_log ${sql(rows, "timestamp", "price")}`;
}

async function backupRows(sql: Sql) {
  return await sql<
    {
      status: string;
      error: string | null;
      path: string | null;
      size_bytes: string | null;
      sha256: string | null;
      deleted_at: Date | null;
      row_counts: Record<string, number> | null;
    }[]
  >`select status, error, path, size_bytes, sha256, deleted_at, row_counts
      from system.backups order by id`;
}

function runVerifyCli(url: string) {
  return runDeno(["run", "-A", VERIFY], { env: { DATABASE_URL: url, NO_COLOR: "1" } });
}

function options(sql: Sql, url: string, dir: string, now = () => Date.now()) {
  return { sql, databaseUrl: url, dir, pgBinDirs: pgBinDirs(), keepDaily: 7, keepWeekly: 4, now };
}

Deno.test({
  name: "runBackup() then backup:verify: the restore matches the dump's snapshot table by table",
  ignore: NO_PG_TOOLS !== undefined,
}, async () => {
  await using db = await createTestDb();
  await using tmp = await tempDir();
  const dir = tmp.path;
  await seed(db.sql, 500);
  const r = await runBackup(options(db.sql, db.url, dir));
  assert.equal(r.status, "ok", r.error);
  const [row] = await backupRows(db.sql);
  assert.equal(row?.status, "ok");
  const path = row.path ?? "";
  assert.ok(path.startsWith(`${dir}/recio_`) && path.endsWith(".dump"), path);
  const file = await fileSha256(path);
  assert.equal(row.sha256, file.sha256);
  assert.equal(Number(row.size_bytes), file.sizeBytes);
  assert.ok(file.sizeBytes > 0);
  // Custom format starts with "PGDMP".
  const head = new Uint8Array(5);
  using f = await Deno.open(path);
  await f.read(head);
  assert.equal(new TextDecoder().decode(head), "PGDMP");
  // The counts of the dump's snapshot: 500 price rows, all in the seeded month's partition.
  assert.equal(row.row_counts?.[SEED_PARTITION], 500);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [path.slice(dir.length + 1)]);

  // The live database keeps growing after the dump: still a match with the dump's snapshot.
  await seed(db.sql, 20, new Date(Date.parse(SEED_FROM) + 86_400_000).toISOString());
  const v = await verifyBackup({ sql: db.sql, url: db.url, pgBinDirs: pgBinDirs() });
  assert.equal(v.ok, true, formatVerifyTable(v.rows));
  const btc = v.rows.filter((x) => x.table.startsWith("live_data.btc_price_log"));
  assert.equal(btc.reduce((a, x) => a + (x.restored ?? 0), 0), 500);
  assert.equal(btc.reduce((a, x) => a + (x.liveNow ?? 0), 0), 520);
  assert.ok(v.rows.some((x) => x.table === "system.schema_migrations" && (x.restored ?? 0) > 0));
  const scratch = await db.sql`select 1 from pg_database where datname like 'recio_verify_%'`;
  assert.equal(scratch.length, 0, "the scratch database is dropped");

  const cli = await runVerifyCli(db.url);
  assert.equal(cli.code, 0, cli.stderr + cli.stdout);
  assert.match(cli.stdout, /^table\s+at backup\s+restored\s+live now/m);
  assert.match(cli.stdout, /Verified: \d+ tables match/);
});

Deno.test({
  name: "backup:verify exits 1 and prints MISMATCH when a table's count differs",
  ignore: NO_PG_TOOLS !== undefined,
}, async () => {
  await using db = await createTestDb();
  await using tmp = await tempDir();
  const dir = tmp.path;
  await seed(db.sql, 50);
  assert.equal((await runBackup(options(db.sql, db.url, dir))).status, "ok");
  // Pretend the snapshot held one more row than the dump restores.
  await db.sql`
    update system.backups
       set row_counts = jsonb_set(row_counts, ${[SEED_PARTITION]},
                                  to_jsonb((row_counts->>${SEED_PARTITION})::int + 1))`;
  const cli = await runVerifyCli(db.url);
  assert.equal(cli.code, 1, cli.stderr + cli.stdout);
  const name = SEED_PARTITION.replaceAll(".", "\\.");
  assert.match(cli.stdout, new RegExp(`${name}\\s+51\\s+50\\s+50\\s+MISMATCH`));
  assert.match(cli.stdout, /MISMATCH: 1 of \d+ tables differ/);
});

Deno.test({
  name: "verifyBackup() refuses a backup file whose SHA-256 no longer matches",
  ignore: NO_PG_TOOLS !== undefined,
}, async () => {
  await using db = await createTestDb();
  await using tmp = await tempDir();
  const dir = tmp.path;
  assert.equal((await runBackup(options(db.sql, db.url, dir))).status, "ok");
  const b = await newestBackup(db.sql);
  await Deno.writeFile(b!.path, new Uint8Array([0]), { append: true });
  await assert.rejects(
    () => verifyBackup({ sql: db.sql, url: db.url, pgBinDirs: pgBinDirs() }),
    /does not match system\.backups/,
  );
});

Deno.test("backup:verify exits 2 when there is no backup", async () => {
  await using db = await createTestDb();
  const cli = await runVerifyCli(db.url);
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /no usable backup/);
});

Deno.test({
  name: "runBackup() records a failed backup when its folder cannot be written",
  ignore: NO_PG_TOOLS !== undefined,
}, async () => {
  await using db = await createTestDb();
  await using tmp = await tempDir();
  const parent = tmp.path;
  // A folder below a regular file cannot be created, not even by root.
  await Deno.writeTextFile(`${parent}/file`, "x");
  const r = await runBackup(options(db.sql, db.url, `${parent}/file/backups`));
  assert.equal(r.status, "failed");
  const [row] = await backupRows(db.sql);
  assert.equal(row?.status, "failed");
  assert.match(row?.error ?? "", /Not a directory|NotADirectory|not a directory/i);
  assert.equal(row?.sha256, null);
  assert.deepEqual([...Deno.readDirSync(parent)].map((e) => e.name), ["file"]);
});

Deno.test("runBackup() fails with the major version needed when no pg_dump fits the server", async () => {
  await using db = await createTestDb();
  await using tmp = await tempDir();
  const dir = tmp.path;
  const { major } = await serverVersion(db.sql);
  const r = await runBackup({ ...options(db.sql, db.url, dir), pgBinDirs: [] });
  assert.equal(r.status, "failed");
  const [row] = await backupRows(db.sql);
  assert.equal(row?.status, "failed");
  assert.match(row?.error ?? "", new RegExp(`needs pg_dump ${major} or newer`));
  assert.deepEqual([...Deno.readDirSync(dir)], [], "no partial file left");
});

Deno.test({
  name: "runBackup() rotates: older backups beyond keepDaily/keepWeekly are deleted and marked",
  ignore: NO_PG_TOOLS !== undefined,
}, async () => {
  await using db = await createTestDb();
  await using tmp = await tempDir();
  const dir = tmp.path;
  const now = Date.UTC(2026, 10, 24, 4);
  const old = [1, 2, 9].map((days) => `${dir}/${backupFileName(now - days * 86_400_000)}`);
  for (const p of old) {
    await Deno.writeTextFile(p, "old");
    await db
      .sql`insert into system.backups (started_at, path, status) values (now(), ${p}, 'ok')`;
  }
  await Deno.writeTextFile(`${dir}/keep-me.txt`, "not a backup");
  const r = await runBackup({
    ...options(db.sql, db.url, dir, () => now),
    keepDaily: 2,
    keepWeekly: 0,
  });
  assert.equal(r.status, "ok", r.error);
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(names, [
    "keep-me.txt",
    backupFileName(now - 86_400_000),
    backupFileName(now),
  ]);
  const rows = await backupRows(db.sql);
  const deleted = rows.filter((x) => x.deleted_at !== null).map((x) => x.path).sort();
  assert.deepEqual(deleted, [old[1], old[2]].sort());
  assert.deepEqual((r.details.deleted as string[]).sort(), [old[1], old[2]].sort());
});

Deno.test({
  name: "runBackup() creates its folder 0700 and the dump 0600 whatever the umask",
  ignore: NO_PG_TOOLS !== undefined,
}, async () => {
  await using db = await createTestDb();
  const parent = await Deno.makeTempDir();
  const umask = Deno.umask(0o022); // as outside systemd: new files 0644 unless told otherwise
  try {
    const dir = `${parent}/archive/backups`;
    const r = await runBackup(options(db.sql, db.url, dir));
    assert.equal(r.status, "ok", r.error);
    const [row] = await backupRows(db.sql);
    assert.equal(Deno.statSync(`${parent}/archive`).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(row!.path!).mode! & 0o777, 0o600);
  } finally {
    Deno.umask(umask);
    await Deno.remove(parent, { recursive: true });
  }
});
