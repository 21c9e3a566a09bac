import assert from "node:assert/strict";
import { binariesProblem, blockedFolders, mayEnter, type Permissions } from "./os_user.ts";

const PG = { uid: 999, gid: 998, groups: [998, 50] };

Deno.test("mayEnter() applies the owner's, the group's or the others' bits, as the kernel does", () => {
  const p = (mode: number, uid = 0, gid = 0): Permissions => ({ mode, uid, gid });
  assert.equal(mayEnter(p(0o755), PG), true);
  assert.equal(mayEnter(p(0o700), PG), false, "a mktemp -d folder owned by root");
  assert.equal(mayEnter(p(0o750, 0, 998), PG), true, "its primary group");
  assert.equal(mayEnter(p(0o750, 0, 50), PG), true, "a supplementary group");
  assert.equal(mayEnter(p(0o705, 0, 998), PG), false, "the group's bits, not the others'");
  assert.equal(mayEnter(p(0o700, 999, 0), PG), true, "its own folder");
  assert.equal(mayEnter(p(0o077, 999, 0), PG), false, "the owner's bits, not the others'");
  assert.equal(mayEnter(p(0o700), { uid: 0, gid: 0, groups: [] }), true, "root");
});

Deno.test("blockedFolders() lists every folder up to / the user cannot enter, skipping missing ones", () => {
  const tree: Record<string, Permissions> = {
    "/": { mode: 0o755, uid: 0, gid: 0 },
    "/tmp": { mode: 0o1777, uid: 0, gid: 0 },
    "/tmp/tmp.X": { mode: 0o700, uid: 0, gid: 0 },
    "/tmp/tmp.X/repo": { mode: 0o755, uid: 0, gid: 0 },
    "/tmp/tmp.X/repo/private": { mode: 0o750, uid: 0, gid: 0 },
  };
  const stat = (path: string) => {
    const p = tree[path];
    if (!p) throw new Deno.errors.NotFound(path);
    return p;
  };
  assert.deepEqual(blockedFolders("/tmp/tmp.X/repo/private/new/pg", PG, stat), [
    { dir: "/tmp/tmp.X", mode: 0o700 },
    { dir: "/tmp/tmp.X/repo/private", mode: 0o750 },
  ]);
  assert.deepEqual(blockedFolders("/tmp", PG, stat), []);
});

Deno.test("binariesProblem() names the folder that hides the binaries from the postgres user and what to do", () => {
  const bin = "/tmp/tmp.X/repo/node_modules/pg/native/bin";
  const modes: Record<string, number> = { "/tmp/tmp.X": 0o700 };
  const stat = (path: string): Permissions => ({ mode: modes[path] ?? 0o755, uid: 0, gid: 0 });
  const problem = binariesProblem(PG, { bin, stat });
  assert.ok(problem);
  assert.match(problem, /postgres OS user/);
  assert.match(problem, /cannot enter \/tmp\/tmp\.X \(mode 700\)/);
  assert.match(problem, /chmod o\+x \/tmp\/tmp\.X/);
  assert.match(problem, /DATABASE_URL/);
  assert.equal(
    binariesProblem(PG, { bin, stat: () => ({ mode: 0o755, uid: 0, gid: 0 }) }),
    undefined,
  );
  // lib beside bin, and the tools themselves.
  modes["/tmp/tmp.X"] = 0o755;
  modes["/tmp/tmp.X/repo/node_modules/pg/native/lib"] = 0o700;
  assert.match(binariesProblem(PG, { bin, stat })!, /native\/lib \(mode 700\)/);
  delete modes["/tmp/tmp.X/repo/node_modules/pg/native/lib"];
  modes[`${bin}/initdb`] = 0o744;
  assert.match(binariesProblem(PG, { bin, stat })!, /may not execute .*initdb/);
});
