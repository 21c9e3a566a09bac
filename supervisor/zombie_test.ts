import assert from "node:assert/strict";
import { hotThreads, ZombieWatch } from "./zombie.ts";

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

/** A thread sampler that returns the given samples in turn (the last one after that). */
function samples(...list: [string, number][][]): () => Map<string, number> {
  let i = 0;
  return () => new Map(list[Math.min(i++, list.length - 1)]);
}

Deno.test("ZombieWatch escalates once, when an extra thread is still hot after the bound", () => {
  // One live worker ("1"), one zombie thread ("2") spinning: 100 ticks a second = a whole core.
  const watch = new ZombieWatch({
    boundMs: 10_000,
    readTicks: samples([["1", 0], ["2", 0]], [["1", 1], ["2", 100]], [["1", 2], ["2", 200]]),
  });
  assert.equal(watch.check(20_000, () => 1), undefined, "no zombie: nothing to watch");
  watch.add("a", 1, 1_000);
  assert.equal(watch.count, 1);
  assert.equal(watch.check(10_999, () => 1), undefined, "inside the bound");
  assert.equal(watch.check(11_000, () => 1), undefined, "first sample");
  assert.equal(watch.check(11_500, () => 1), undefined, "samples less than 1 s apart");
  assert.equal(
    watch.check(12_000, () => 1),
    "1 zombie worker thread(s) still running; 1 hot after 11000 ms",
  );
  assert.equal(watch.check(14_000, () => 1), undefined, "escalates once");
});

Deno.test("ZombieWatch forgets its zombies once every extra thread has ended", () => {
  const watch = new ZombieWatch({
    boundMs: 1_000,
    readTicks: samples([["1", 0], ["2", 0]], [["1", 5]]),
  });
  watch.add("a", 1, 0);
  assert.equal(watch.check(1_000, () => 1), undefined);
  assert.equal(watch.check(2_000, () => 1), undefined);
  assert.equal(watch.count, 0);
});

Deno.test("ZombieWatch does not escalate for an extra thread that is idle", () => {
  const watch = new ZombieWatch({
    boundMs: 1_000,
    readTicks: samples([["1", 0], ["2", 0]], [["1", 1], ["2", 10]]),
  });
  watch.add("a", 1, 0);
  assert.equal(watch.check(1_000, () => 1), undefined);
  assert.equal(watch.check(2_000, () => 1), undefined, "10 ticks in a second: a tenth of a core");
  assert.equal(watch.count, 1, "still counted");
});
