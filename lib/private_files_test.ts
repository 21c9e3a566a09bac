import assert from "node:assert/strict";
import { ensurePrivateDir, ensurePrivateFile, keepPrivate } from "./private_files.ts";

const mode = (p: string) => Deno.statSync(p).mode! & 0o777;

Deno.test("ensurePrivateFile() creates 0600 files in 0700 folders under a permissive umask", async () => {
  const dir = await Deno.makeTempDir();
  const old = Deno.umask(0o000);
  try {
    ensurePrivateFile(`${dir}/a/b/recio.log`);
    assert.equal(mode(`${dir}/a`), 0o700);
    assert.equal(mode(`${dir}/a/b`), 0o700);
    assert.equal(mode(`${dir}/a/b/recio.log`), 0o600);
    // An existing world-readable file is narrowed; its content stays.
    Deno.writeTextFileSync(`${dir}/old.log`, "kept\n", { mode: 0o644 });
    Deno.chmodSync(`${dir}/old.log`, 0o644);
    ensurePrivateFile(`${dir}/old.log`);
    assert.equal(mode(`${dir}/old.log`), 0o600);
    assert.equal(Deno.readTextFileSync(`${dir}/old.log`), "kept\n");
    // An existing folder keeps its mode (it may be shared on purpose).
    Deno.mkdirSync(`${dir}/shared`, { mode: 0o755 });
    Deno.chmodSync(`${dir}/shared`, 0o755);
    ensurePrivateDir(`${dir}/shared`);
    assert.equal(mode(`${dir}/shared`), 0o755);
  } finally {
    Deno.umask(old);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keepPrivate() narrows a file with group or other bits and leaves a private one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeTextFileSync(`${dir}/f`, "x");
    Deno.chmodSync(`${dir}/f`, 0o640);
    assert.equal(keepPrivate(`${dir}/f`), true);
    assert.equal(mode(`${dir}/f`), 0o600);
    assert.equal(keepPrivate(`${dir}/f`), false);
    assert.throws(() => keepPrivate(`${dir}/missing`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
