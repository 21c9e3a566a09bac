/**
 * `deno task status` (commands/status.ts) against the real supervisor process: the table
 * from the status API while the system runs, from `system.actor_status` once it is down, and a
 * clear line when neither is there.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { formatTable, readStatus } from "../commands/status.ts";
import { createTestDb } from "./_db.ts";
import { eventually } from "./_eventually.ts";
import { runDeno } from "./_process.ts";
import { startSupervisor, TEST_ACTOR, writeChildrenFile } from "./_system.ts";

const CLI = new URL("../commands/status.ts", import.meta.url).pathname;

/** Runs the CLI as `deno task status` would, with `env` only. */
function runCli(env: Record<string, string>) {
  return runDeno(["run", "-A", CLI], { env: { NO_COLOR: "1", ...env }, clearEnv: true });
}

/** A port nobody listens on. */
function closedPort(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return String(port);
}

Deno.test("status CLI - prints the actor table from the running system, then from the database once it is down", async () => {
  await using db = await createTestDb();
  const file = await writeChildrenFile([
    {
      id: "alpha",
      module: TEST_ACTOR,
      heartbeatMs: 100,
      args: { dataEveryMs: 200 },
      freshness: 5_000,
    },
    { id: "beta", module: TEST_ACTOR, heartbeatMs: 100, dependsOn: ["alpha"] },
  ]);
  try {
    const sup = startSupervisor({ DATABASE_URL: db.url, RECIO_CHILDREN_FILE: file });
    const port = new URL(await sup.url).port;
    await eventually(async () => {
      const s = await (await fetch(`${await sup.url}/status`)).json();
      return s.actors.every((a: { state: string }) => a.state === "running");
    });
    const env = { DATABASE_URL: db.url, RECIO_HTTP_PORT: port };

    const up = await runCli(env);
    assert.equal(up.code, 0, up.stderr);
    const upLines = up.stdout.trim().split("\n");
    assert.match(upLines[0]!, /: running, ready \(from http:\/\/127\.0\.0\.1:\d+\)$/);
    assert.match(upLines[1]!, /^ACTOR\s+STATE\s+INC\s+RESTARTS\s+HEARTBEAT\s+FRESHNESS\s+REASON$/);
    assert.match(upLines[2]!, /^alpha\s+running\s+1\s+0\s+\d+\.\ds\s+\d+\.\ds$/);
    assert.match(upLines[3]!, /^beta\s+running\s+1\s+0\s+\d+\.\ds\s+-$/);

    assert.equal(await sup.stop(), 0, sup.stderr());
    const down = await runCli(env);
    assert.equal(down.code, 3, down.stderr);
    const downLines = down.stdout.trim().split("\n");
    assert.match(
      downLines[0]!,
      /^no answer from http:\/\/127\.0\.0\.1:\d+; .*: not running; last recorded state at \d{4}-/,
    );
    assert.ok(!down.stdout.includes(new URL(db.url).password || "\u0000"), "no password");
    assert.match(downLines[2]!, /^alpha\s+stopped\s+1\s+0\s/);
    assert.match(downLines[3]!, /^beta\s+stopped\s+1\s+0\s/);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("status CLI - says the embedded database is not running when nothing can be read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli({ RECIO_HTTP_PORT: closedPort(), RECIO_PG_DIR: `${dir}/pg` });
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stdout,
      /no answer from http:\/\/127\.0\.0\.1:\d+; the embedded database in .*\/pg is not running/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readStatus() names an unreachable DATABASE_URL by host and port, never its password", async () => {
  const config = loadConfig({
    RECIO_HTTP_PORT: closedPort(),
    DATABASE_URL: `postgres://recio:s3cret-pass@127.0.0.1:${closedPort()}/recio`,
  });
  const r = await readStatus(config, { timeoutMs: 500 });
  assert.equal(r.source, "none");
  assert.match(r.summary, /cannot read 127\.0\.0\.1:\d+\/recio/);
  assert.ok(!r.summary.includes("s3cret-pass"));
});

Deno.test("status CLI - an invalid setting exits 2 naming it", async () => {
  const r = await runCli({ RECIO_HTTP_PORT: "abc" });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /RECIO_HTTP_PORT/);
});

Deno.test("formatTable() pads columns and marks stale data", () => {
  const text = formatTable([
    {
      id: "price_watchdog:btc",
      state: "degraded",
      incarnation: 3,
      restarts: 2,
      heartbeatAgeMs: 400,
      freshnessLagMs: 125_000,
      stale: true,
      reason: "feed silent\nat x",
    },
    {
      id: "m",
      state: "running",
      incarnation: 1,
      restarts: 0,
      heartbeatAgeMs: null,
      freshnessLagMs: null,
      stale: false,
      reason: null,
    },
  ]);
  assert.equal(
    text,
    [
      "ACTOR               STATE     INC  RESTARTS  HEARTBEAT  FRESHNESS   REASON",
      "price_watchdog:btc  degraded  3    2         0.4s       2.1m STALE  feed silent",
      "m                   running   1    0         -          -",
    ].join("\n"),
  );
});
