import assert from "node:assert/strict";
import { commandConfig, commandDatabaseConfig, taskArgs } from "./cli.ts";

Deno.test("taskArgs() drops the first -- that deno task passes on", () => {
  assert.deepEqual(taskArgs(["--", "--days", "3"]), ["--days", "3"]);
  assert.deepEqual(taskArgs(["import", "--", "--dry-run", "x"]), ["import", "--dry-run", "x"]);
  assert.deepEqual(taskArgs(["--days", "3"]), ["--days", "3"]);
  assert.deepEqual(taskArgs([]), []);
});

Deno.test("commandConfig() exits 2 on an invalid setting or a missing DATABASE_URL, else gives the config", () => {
  const exit = (code: number): never => {
    throw new Error(`exit ${code}`);
  };
  assert.throws(
    () => commandConfig("model:build", { env: { RECIO_HTTP_PORT: "0x1F" } }, exit),
    /exit 2/,
  );
  assert.throws(
    () => commandDatabaseConfig("model:build", "the database to build in", { env: {} }, exit),
    /exit 2/,
  );
  const c = commandDatabaseConfig("migrate", "the database to migrate", {
    env: { DATABASE_URL: "postgres://u@h/x" },
  }, exit);
  assert.equal(c.databaseUrl, "postgres://u@h/x");
});
