import assert from "node:assert/strict";
import { taskArgs } from "./cli.ts";

Deno.test("taskArgs() drops the first -- that deno task passes on", () => {
  assert.deepEqual(taskArgs(["--", "--days", "3"]), ["--days", "3"]);
  assert.deepEqual(taskArgs(["import", "--", "--dry-run", "x"]), ["import", "--dry-run", "x"]);
  assert.deepEqual(taskArgs(["--days", "3"]), ["--days", "3"]);
  assert.deepEqual(taskArgs([]), []);
});
