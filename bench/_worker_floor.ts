/**
 * The RSS a Web Worker adds to a process, for `bench/supervisor.ts`: run as its own process (with
 * the supervisor process's V8 flags), it starts `n` workers of one module, waits until each is
 * ready and the process is quiet, and prints the RSS added per worker as JSON. The modules are a
 * worker that loads nothing, one that loads only the libraries every actor loads, and an actor's
 * own worker module (imported, not initialised: the code it holds, not its work).
 *
 * Usage: deno run -A --v8-flags=… bench/_worker_floor.ts <module URL> <n>
 *
 * @module
 */
import { sleep } from "../lib/sleep.ts";

function rssKib(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

const [module, count] = Deno.args;
const n = Number(count ?? 6);
await sleep(500);
const before = rssKib();
const workers: Worker[] = [];
for (let i = 0; i < n; i++) {
  const w = new Worker(module!, { type: "module" });
  await new Promise((resolve) => (w.onmessage = resolve));
  workers.push(w);
}
await sleep(1_500);
console.log(JSON.stringify({ perWorkerKib: (rssKib() - before) / n }));
for (const w of workers) w.terminate();
