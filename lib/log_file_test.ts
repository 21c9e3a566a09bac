import assert from "node:assert/strict";
import { reset } from "@logtape/logtape";
import { getLogger, setupLogging } from "./log.ts";

Deno.test("setupLogging({ file }) writes redacted JSON lines and rotates at fileMaxBytes", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/logs/recio.log`;
  const umask = Deno.umask(0o022); // the usual one outside systemd: files 0644 unless told
  try {
    await setupLogging({
      format: "json",
      level: "info",
      file,
      fileMaxBytes: 2_000,
      fileMaxFiles: 2,
    });
    const log = getLogger("test");
    log.info("Connecting to {target} with {token}", {
      target: "postgres://recio:hunter2@db:5432/recio",
      token: "abcdefabcdefabcdef",
    });
    for (let i = 0; i < 40; i++) log.info("filler line {i} {pad}", { i, pad: "x".repeat(60) });
    await reset(); // closes the sink
    const files = [...Deno.readDirSync(`${dir}/logs`)].map((e) => e.name).sort();
    assert.deepEqual(files, ["recio.log", "recio.log.1", "recio.log.2"], "rotated, 2 kept");
    assert.equal(Deno.statSync(`${dir}/logs`).mode! & 0o777, 0o700, "the folder made for it");
    for (const name of files) {
      assert.equal(Deno.statSync(`${dir}/logs/${name}`).mode! & 0o777, 0o600, name);
    }
    for (const name of files) {
      assert.ok(Deno.statSync(`${dir}/logs/${name}`).size <= 2_200, name);
    }
    const all = files.map((n) => Deno.readTextFileSync(`${dir}/logs/${n}`)).join("");
    assert.ok(!all.includes("hunter2"), "password redacted");
    assert.ok(!all.includes("abcdefabcdefabcdef"), "token redacted");
    for (const line of all.trim().split("\n")) JSON.parse(line);
  } finally {
    Deno.umask(umask);
    await reset();
    await Deno.remove(dir, { recursive: true });
  }
});
