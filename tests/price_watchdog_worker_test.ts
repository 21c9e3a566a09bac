/**
 * The price watchdog as a real Web Worker: worker.ts wiring, the init/ready/heartbeat/stop
 * protocol, rows in PostgreSQL.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ActorMessage, type InitMessage } from "../schema/messages.ts";
import { createTestDb, eventually } from "./_db.ts";
import { FakeCoinbase } from "./fakes/coinbase_server.ts";
import { readRows } from "./_price_watchdog.ts";

Deno.test("price_watchdog worker.ts - runs as a Worker: ready, rows written, counters in heartbeats, stopped after a flush", async () => {
  await using db = await createTestDb();
  await using fake = new FakeCoinbase({ productId: "ETH-USD" });
  const worker = new Worker(new URL("../actors/price_watchdog/worker.ts", import.meta.url).href, {
    type: "module",
  });
  const messages: ActorMessage[] = [];
  worker.onmessage = (e) => void messages.push(ActorMessage.parse(e.data));
  worker.onerror = (e) => {
    e.preventDefault();
    messages.push({ type: "fatal", error: { name: "Error", message: e.message } });
  };
  try {
    const init: InitMessage = {
      type: "init",
      id: "price_watchdog:eth",
      incarnation: 1,
      node: "test",
      args: { symbol: "ETH", wsUrl: fake.advancedUrl, restUrl: fake.restUrl, flushMs: 50 },
      heartbeatMs: 50,
      databaseUrl: db.url,
      log: { format: "json", level: "fatal" },
    };
    worker.postMessage(init);
    await eventually(() => {
      const f = messages.find((m) => m.type === "fatal");
      if (f) throw new Error(JSON.stringify(f));
      return messages.some((m) => m.type === "ready") && fake.subscribers() === 1;
    }, { timeoutMs: 30_000, message: `worker not ready (${JSON.stringify(messages.slice(-3))})` });
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 5_000;
    fake.tick([{ timeMs: t0, price: "3000.10" }, { timeMs: t0 + 1_000, price: "3001.20" }]);
    fake.sendRaw("not json");
    fake.heartbeat(t0 + 2_000);
    await eventually(async () => (await readRows(db.sql, "eth")).length === 2);
    const beat = await eventually(() =>
      messages.findLast((m) =>
        m.type === "heartbeat" && m.progress.counters["rejected.malformed_json"] === 1 &&
        m.progress.newestDataAt === t0 + 1_000
      )
    );
    assert.equal(beat.type, "heartbeat");
    worker.postMessage({ type: "stop", reason: "test" });
    await eventually(() => messages.some((m) => m.type === "stopped"));
    assert.deepEqual((await readRows(db.sql, "eth")).map((r) => r.price), [
      "3000.10000000",
      "3001.20000000",
    ]);
  } finally {
    worker.terminate();
  }
});
