/**
 * The prologue of `deno task model:build` and `deno task history:backfill`, run as the tasks run
 * them: the documented `deno task x -- --flag` form parses; a bad or unknown argument is one line
 * on stderr and exit 2 before any database is touched; a database without the schema is exit 2
 * saying to migrate.
 */
import assert from "node:assert/strict";
import { createTestDb } from "./_db.ts";
import { runDeno } from "./_process.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Runs `deno task -q <task> <args>` with `env` only (plus what Deno needs to find its cache). */
function task(name: string, args: string[], env: Record<string, string> = {}) {
  return runDeno(["task", "-q", name, ...args], {
    cwd: ROOT,
    env: { NO_COLOR: "1", RECIO_LOG_LEVEL: "error", ...env },
    clearEnv: true,
  });
}

for (const name of ["history:backfill", "model:build"]) {
  Deno.test(`deno task ${name} refuses an unknown option with one line and exit 2`, async () => {
    const r = await task(name, ["--", "--bogus"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), `Cannot run ${name}: Unknown option '--bogus'`);
  });

  Deno.test(`deno task ${name} -- <valid flags> parses them and then asks for DATABASE_URL`, async () => {
    const flag = name === "model:build" ? ["--years", "2"] : ["--days", "3"];
    const r = await task(name, ["--", ...flag, "--symbol", "ETH"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^Cannot run ${name}: DATABASE_URL is not set`));
  });
}

Deno.test("deno task history:backfill refuses --days outside 1..3650 with exit 2", async () => {
  for (const days of ["0", "3651", "2.5", "x"]) {
    const r = await task("history:backfill", ["--", "--days", days]);
    assert.equal(r.code, 2, days);
    assert.match(r.stderr, /^--days: expected a whole number of days between 1 and 3650/, days);
  }
});

Deno.test("deno task model:build refuses --years that is not a number in (0, 100] with exit 2", async () => {
  for (const years of ["0", "-1", "101", "x"]) {
    const r = await task("model:build", ["--", `--years=${years}`]);
    assert.equal(r.code, 2, years);
    assert.match(r.stderr, /^--years: expected a number of years above 0 and at most 100/, years);
  }
});

Deno.test("deno task model:build with an invalid symbol exits 1 naming it, writing nothing", async () => {
  await using db = await createTestDb();
  const r = await task("model:build", ["--", "--symbol", "b-t-c"], { DATABASE_URL: db.url });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim(), `Cannot build a model for "b-t-c"`);
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from analytics.probability_lookup`;
  assert.equal(row?.n, 0);
});

Deno.test("deno task history:backfill and model:build on a database without the schema exit 2 saying to run migrate", async () => {
  await using db = await createTestDb({ migrated: false });
  for (
    const [name, args] of [["history:backfill", ["--days", "1"]], ["model:build", []]] as const
  ) {
    const r = await task(name, ["--", ...args], { DATABASE_URL: db.url });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^Cannot run deno task ${name}: the database .* has no rec\\.io schema`),
    );
    assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  }
});
