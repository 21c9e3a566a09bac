import assert from "node:assert/strict";
import { DatabaseError } from "../errors.ts";
import { embeddedLayout } from "./layout.ts";
import { claim } from "./lock.ts";
import { processStartTime } from "./process_identity.ts";

async function withLayout(fn: (files: ReturnType<typeof embeddedLayout>) => Promise<void>) {
  const parent = await Deno.makeTempDir({ prefix: "recio-lock-" });
  try {
    await fn(embeddedLayout(`${parent}/pg`));
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
}

Deno.test("claim() records this process in the owner file (0600) and release removes it", async () => {
  await withLayout(async (files) => {
    const release = claim(files);
    const owner = JSON.parse(await Deno.readTextFile(files.owner));
    assert.deepEqual(owner, { pid: Deno.pid, startTime: processStartTime(Deno.pid) });
    assert.equal((await Deno.stat(files.owner)).mode! & 0o777, 0o600);
    release();
    await assert.rejects(Deno.stat(files.owner), Deno.errors.NotFound);
    release(); // idempotent
  });
});

Deno.test("claim() refuses while a live owner holds it, and takes over from a dead, reused-pid or unreadable one", async () => {
  await withLayout(async (files) => {
    const release = claim(files);
    assert.throws(() => claim(files), (e) => {
      assert.ok(e instanceof DatabaseError);
      assert.match(e.message, /in use by this process/);
      return true;
    });
    release();
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    for (
      const stale of [
        JSON.stringify({ pid: gone.pid, startTime: "1" }),
        JSON.stringify({ pid: Deno.pid, startTime: "not-my-start-time" }),
        "not json",
      ]
    ) {
      await Deno.writeTextFile(files.owner, stale);
      const mine = claim(files);
      assert.equal(JSON.parse(await Deno.readTextFile(files.owner)).pid, Deno.pid);
      mine();
    }
  });
});

Deno.test("claim()'s release leaves an owner file that another process took over", async () => {
  await withLayout(async (files) => {
    const release = claim(files);
    const other = JSON.stringify({ pid: 1, startTime: "1" });
    await Deno.writeTextFile(files.owner, other);
    release();
    assert.equal(await Deno.readTextFile(files.owner), other);
  });
});
