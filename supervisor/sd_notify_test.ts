import assert from "node:assert/strict";
import { startSdNotify } from "./sd_notify.ts";
import { eventually } from "../tests/_eventually.ts";

Deno.test("startSdNotify() does nothing without NOTIFY_SOCKET", async () => {
  const sent: string[] = [];
  const n = startSdNotify({
    env: {},
    send: (m) => {
      sent.push(m);
      return Promise.resolve();
    },
  });
  assert.equal(n.enabled, false);
  n.readyWhenHealthy("http://127.0.0.1:1/healthz");
  await n.stop();
  assert.deepEqual(sent, []);
});

Deno.test("startSdNotify() sends READY=1 once healthy, WATCHDOG=1 per WATCHDOG_USEC/3, STOPPING=1", async () => {
  let healthy = false;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("ok", { status: healthy ? 200 : 503 }),
  );
  const sent: string[] = [];
  const n = startSdNotify({
    env: { NOTIFY_SOCKET: "/run/systemd/notify", WATCHDOG_USEC: "300000" },
    send: (m) => {
      sent.push(m);
      return Promise.resolve();
    },
    pollMs: 20,
  });
  try {
    n.readyWhenHealthy(`http://127.0.0.1:${server.addr.port}/healthz`);
    await eventually(() => sent.filter((m) => m === "WATCHDOG=1").length >= 2);
    assert.ok(!sent.includes("READY=1"), "not ready while /healthz fails");
    healthy = true;
    await eventually(() => sent.includes("READY=1"));
  } finally {
    await n.stop();
    await server.shutdown();
  }
  assert.equal(sent.filter((m) => m === "READY=1").length, 1);
  assert.equal(sent.at(-1), "STOPPING=1");
});
