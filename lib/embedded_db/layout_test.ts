import assert from "node:assert/strict";
import {
  embeddedLayout,
  embeddedUrl,
  parsePostmasterPid,
  readPasswordFile,
  writePasswordFile,
} from "./layout.ts";

Deno.test("embeddedLayout() names every file beside and inside the data directory", () => {
  assert.deepEqual(embeddedLayout("/srv/recio/pg"), {
    dir: "/srv/recio/pg",
    password: "/srv/recio/pg.password",
    owner: "/srv/recio/pg.owner",
    users: "/srv/recio/pg.users",
    pidFile: "/srv/recio/pg/postmaster.pid",
    version: "/srv/recio/pg/PG_VERSION",
    serverLog: "/srv/recio/pg/server.log",
  });
});

Deno.test("embeddedLayout() keeps a relative dir relative and drops trailing slashes, but not /", () => {
  assert.equal(embeddedLayout("./data/pg").users, "./data/pg.users");
  assert.equal(embeddedLayout("./data/pg//").password, "./data/pg.password");
  assert.equal(embeddedLayout("./data/pg/").pidFile, "./data/pg/postmaster.pid");
  assert.equal(embeddedLayout("/").dir, "/");
});

Deno.test("parsePostmasterPid() reads the pid from line 1 and the port from line 4, NaN when absent", () => {
  const text = "4242\n/srv/pg\n1700000000\n5433\n\n127.0.0.1\n 1 2\nready   \n";
  assert.deepEqual(parsePostmasterPid(text), { pid: 4242, port: 5433 });
  const short = parsePostmasterPid("4242\n");
  assert.equal(short.pid, 4242);
  assert.ok(Number.isNaN(short.port));
  assert.ok(Number.isNaN(parsePostmasterPid("garbage").pid));
});

Deno.test("readPasswordFile() trims, gives '' for an empty file and null for a missing one; writePasswordFile() leaves mode 0600", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recio-layout-" });
  try {
    const file = `${dir}/pg.password`;
    assert.equal(readPasswordFile(file), null);
    await Deno.writeTextFile(file, "", { mode: 0o644 });
    assert.equal(readPasswordFile(file), "");
    await writePasswordFile(file, "s3cret");
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600, "tightened on an existing file");
    await Deno.writeTextFile(file, "  s3cret\n");
    assert.equal(readPasswordFile(file), "s3cret");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("embeddedUrl() escapes the password into a loopback URL of the postgres role", () => {
  assert.equal(embeddedUrl("a/b@c", 5433), "postgres://postgres:a%2Fb%40c@127.0.0.1:5433/postgres");
});
