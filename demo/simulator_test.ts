import assert from "node:assert/strict";

const SIMULATOR = new URL("./simulator.ts", import.meta.url).pathname;
const TOKEN = "simulator-token-0123456789";

/** Starts the simulator with `env`, returning its announcement (or its exit when it has none). */
async function start(env: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "recio-sim-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SIMULATOR, "--dir", dir],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let announce: { controlUrl: string } | undefined;
  while (!announce) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    const line = text.split("\n").find((l) => l.startsWith("{"));
    if (line) announce = JSON.parse(line);
  }
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await reader.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  return { announce, child, stop };
}

Deno.test("demo simulator - its drill endpoint answers only with the control token", async () => {
  const sim = await start({ RECIO_SIMULATOR_TOKEN: TOKEN });
  try {
    assert.ok(sim.announce, "the simulator announced its URLs");
    const url = `${sim.announce.controlUrl}/drill/drop_price_feed`;
    const refused: Record<string, string>[] = [{}, { authorization: "Bearer wrong-0123456789" }];
    for (const h of refused) {
      const r = await fetch(url, { method: "POST", headers: h });
      assert.equal(r.status, 401);
      await r.body?.cancel();
    }
    const ok = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { drill: "drop_price_feed" });
  } finally {
    await sim.stop();
  }
});

Deno.test("demo simulator - refuses to start without a control token", async () => {
  const sim = await start({});
  try {
    assert.equal(sim.announce, undefined);
    assert.notEqual((await sim.child.status).code, 0);
  } finally {
    await sim.stop();
  }
});
