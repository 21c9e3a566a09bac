/**
 * `deno task test`: runs the whole suite against a real PostgreSQL server — the one at
 * `DATABASE_URL` when set, otherwise the embedded one (in `./data/test-pg`, started here and
 * stopped at the end). Builds a migrated template database once; each test clones it.
 * Extra arguments go to `deno test` (e.g. a file or `--filter`).
 *
 * First, as root, it checks that the `postgres` OS user (which runs every embedded server of the
 * suite) can reach the server's binaries and the temporary folder; if not, it says why once and
 * exits 1 instead of failing every test that starts an embedded database.
 *
 * @module
 */
import { taskArgs } from "../lib/cli.ts";
import postgres from "postgres";
import {
  type EmbeddedDb,
  embeddedDbProblem,
  embeddedLayout,
  startEmbeddedDb,
} from "../lib/embedded_db/mod.ts";
import { createSql, parseDatabaseUrl } from "../lib/db.ts";
import { migrate } from "../schema/migrate.ts";
import { withDatabase } from "./_db.ts";

let url = Deno.env.get("DATABASE_URL");
const testPgDir = Deno.env.get("RECIO_TEST_PG_DIR") ?? "./data/test-pg";
// The tests' embedded servers live in temporary folders (plus ours, without DATABASE_URL).
const tmp = Deno.env.get("TMPDIR") || "/tmp";
const problem = await embeddedDbProblem([`${tmp}/recio-test/pg`, ...(url ? [] : [testPgDir])]);
if (problem) {
  console.error(`Cannot run the tests (some start embedded servers of their own): ${problem}`);
  Deno.exit(1);
}
let embedded: EmbeddedDb | undefined;
if (!url) {
  embedded = await startEmbeddedDb({ dir: testPgDir });
  url = embedded.url;
  console.log(`Using the embedded PostgreSQL on 127.0.0.1:${embedded.port}`);
}
// Roles are cluster-wide: every run on one server shares the roles user_NNNN_rw, and so their
// passwords, kept in one folder per server (tests/_db_users.ts): beside our own embedded server,
// or in the temporary folder for a DATABASE_URL that other runs may share.
const [server] = parseDatabaseUrl(url).hosts;
const usersDir = embedded
  ? embeddedLayout(embedded.dir).users
  : `${tmp}/recio-test-roles/${server!.host.replace(/[^A-Za-z0-9.-]/g, "_")}_${server!.port}`;

const template = `recio_tpl_${Deno.pid}`;
/** Databases of this run only: concurrent runs on one server must not drop each other's. */
const prefix = `recio_t${Deno.pid}_`;
const admin = postgres(url, { max: 1, onnotice: () => {} });
let code = 1;
try {
  await admin.unsafe(`drop database if exists ${template}`);
  await admin.unsafe(`create database ${template}`);
  const tpl = createSql(withDatabase(url, template), { max: 1 });
  await migrate(tpl);
  await tpl.end();

  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "-A",
      "--unstable-cron",
      "--unstable-worker-options",
      ...taskArgs(),
    ],
    env: {
      DATABASE_URL: url,
      RECIO_TEST_TEMPLATE: template,
      RECIO_TEST_DB_PREFIX: prefix,
      RECIO_TEST_USERS_DIR: usersDir,
    },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const stop = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  code = (await child.status).code;
} finally {
  await admin.unsafe(`drop database if exists ${template} with (force)`).catch(() => {});
  // Databases of tests that crashed before dropping theirs.
  const left = await admin<{ datname: string }[]>`
    select datname from pg_database where starts_with(datname, ${prefix})`.catch(() => []);
  for (const { datname } of left) {
    await admin.unsafe(`drop database if exists ${datname} with (force)`).catch(() => {});
  }
  // The users' roles our databases used. PostgreSQL refuses to drop a role that any database of
  // the server still depends on (another run's, or a live one), so only unused ones go.
  const roles = await admin<{ rolname: string }[]>`
    select rolname from pg_roles where rolname ~ '^user_[0-9]{4}_rw$'`.catch(() => []);
  for (const { rolname } of roles) {
    await admin.unsafe(`drop role if exists ${rolname}`).catch(() => {});
  }
  await admin.end();
  await embedded?.stop();
}
Deno.exit(code);
