import assert from "node:assert/strict";
import { hotThreads } from "./zombie.ts";

Deno.test("hotThreads() picks threads that used most of a core between samples", () => {
  const before = new Map([["1", 100], ["2", 100], ["3", 5]]);
  const after = new Map([["1", 200], ["2", 110], ["4", 900]]);
  assert.deepEqual(hotThreads(before, after, 1000), ["1"]);
});

Deno.test("workerThreadTicks() sees a terminated worker that keeps spinning", async () => {
  // In a child process: the zombie thread would otherwise burn a core for the rest of the run.
  const script = `
    import { hotThreads, workerThreadTicks } from ${
    JSON.stringify(import.meta.resolve("./zombie.ts"))
  };
    const src = "self.onmessage = () => { postMessage('spinning'); for (;;) {} };";
    const w = new Worker("data:application/javascript," + encodeURIComponent(src), { type: "module" });
    await new Promise((resolve) => { w.onmessage = resolve; w.postMessage("go"); });
    w.terminate();
    await new Promise((r) => setTimeout(r, 200));
    // Sample a few times: on a loaded machine one window may be short of CPU.
    let hot = [];
    let threads = 0;
    for (let i = 0; i < 5 && hot.length === 0; i++) {
      const a = workerThreadTicks();
      threads = a.size;
      await new Promise((r) => setTimeout(r, 1000));
      hot = hotThreads(a, workerThreadTicks(), 1000, 0.3);
    }
    console.log(JSON.stringify({ threads, hot: hot.length }));
    Deno.exit(0);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim());
  assert.ok(r.threads >= 1, "the terminated worker's thread is still there");
  assert.ok(r.hot >= 1, "and it is hot");
});
