import assert from "node:assert/strict";
import { commandArgs, commandConfig, commandDatabaseConfig, taskArgs } from "./cli.ts";

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

Deno.test("commandArgs() gives the flags with their defaults and exits 2 on an unknown or valueless flag", () => {
  const exit = (code: number): never => {
    throw new Error(`exit ${code}`);
  };
  const flags = { days: { type: "string", default: "30" }, dry: { type: "boolean" } } as const;
  assert.deepEqual({ ...commandArgs("x", flags, ["--dry"], exit) }, { days: "30", dry: true });
  assert.deepEqual({ ...commandArgs("x", flags, ["--days", "3"], exit) }, { days: "3" });
  assert.throws(() => commandArgs("x", flags, ["--bogus"], exit), /exit 2/);
  assert.throws(() => commandArgs("x", flags, ["--days"], exit), /exit 2/);
  assert.throws(() => commandArgs("x", flags, ["stray"], exit), /exit 2/);
});
