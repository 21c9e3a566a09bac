import assert from "node:assert/strict";
import { runningEmbedded } from "./running.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const parent = await Deno.makeTempDir({ prefix: "recio-running-" });
  try {
    const dir = `${parent}/pg`;
    await Deno.mkdir(dir);
    await fn(dir);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
}

Deno.test("runningEmbedded() builds the URL from postmaster.pid's port and the password file", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/postmaster.pid`, `1\n${dir}\n1700000000\n5433\n`);
    await Deno.writeTextFile(`${dir}.password`, "pw/1\n");
    assert.deepEqual(runningEmbedded(dir), {
      url: "postgres://postgres:pw%2F1@127.0.0.1:5433/postgres",
      port: 5433,
    });
    assert.deepEqual(runningEmbedded(`${dir}/`), runningEmbedded(dir), "a trailing slash");
  });
});

Deno.test("runningEmbedded() says why when the server is not running, has no port, or its password file is missing or empty", async () => {
  await withDir(async (dir) => {
    assert.deepEqual(runningEmbedded(dir), {
      why: `the embedded database in ${dir} is not running`,
    });
    await Deno.writeTextFile(`${dir}/postmaster.pid`, "1\n");
    assert.match((runningEmbedded(dir) as { why: string }).why, /no port in postmaster\.pid/);
    await Deno.writeTextFile(`${dir}/postmaster.pid`, `1\n${dir}\n1700000000\n5433\n`);
    assert.match((runningEmbedded(dir) as { why: string }).why, /cannot read .*pg\.password/);
    await Deno.writeTextFile(`${dir}.password`, "\n");
    assert.match((runningEmbedded(dir) as { why: string }).why, /pg\.password is empty/);
  });
});
