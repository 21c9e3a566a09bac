import assert from "node:assert/strict";
import {
  alive,
  isPostmasterOf,
  processStartTime,
  type ProcInfo,
  procInfo,
} from "./process_identity.ts";

Deno.test("processStartTime() names this process stably and gives undefined for a pid that has exited", async () => {
  const me = processStartTime(Deno.pid);
  assert.ok(me !== undefined && /^\d+$/.test(me), `start time ${me}`);
  assert.equal(processStartTime(Deno.pid), me);
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  assert.equal(processStartTime(gone.pid), undefined);
  assert.equal(procInfo(gone.pid), undefined);
});

Deno.test("procInfo() reads this process's command line and working directory", () => {
  const info = procInfo(Deno.pid);
  assert.ok(alive(info));
  assert.equal(info.argv[0]?.split("/").pop(), Deno.execPath().split("/").pop());
  assert.equal(info.cwd, Deno.cwd());
});

Deno.test("alive() is false for zombies, dead and missing processes", () => {
  const p = (state: string): ProcInfo => ({ state, startTime: "1", argv: [], cwd: undefined });
  assert.equal(alive(p("S")), true);
  assert.equal(alive(p("Z")), false);
  assert.equal(alive(p("X")), false);
  assert.equal(alive(undefined), false);
});

Deno.test("isPostmasterOf() wants a postgres binary serving the dir (by cwd or argument)", () => {
  const p = (argv: string[], cwd?: string): ProcInfo => ({ state: "S", startTime: "1", argv, cwd });
  assert.equal(isPostmasterOf(p(["/opt/pg/bin/postgres", "-D", "/srv/pg"]), "/srv/pg"), true);
  assert.equal(isPostmasterOf(p(["/opt/pg/bin/postgres"], "/srv/pg"), "/srv/pg"), true);
  assert.equal(isPostmasterOf(p(["/opt/pg/bin/postgres"], "/srv/other"), "/srv/pg"), false);
  assert.equal(isPostmasterOf(p(["sleep", "/srv/pg"], "/srv/pg"), "/srv/pg"), false);
  assert.equal(isPostmasterOf(p([], "/srv/pg"), "/srv/pg"), false);
});
