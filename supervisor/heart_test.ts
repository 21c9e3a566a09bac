import assert from "node:assert/strict";
import { exists, pidAlive } from "../tests/_process.ts";
import { loadConfig } from "../lib/config.ts";
import { eventually } from "../tests/_eventually.ts";
import { tempDir } from "../tests/_temp.ts";
import { healthzUrl, heartBackoff, type HeartOptions, runHeart } from "./heart.ts";
import { startSdNotify } from "./sd_notify.ts";

const CHILD = new URL("../tests/fixtures/heart_child.ts", import.meta.url).pathname;
const RUN = new URL("../tests/fixtures/heart_run.ts", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SUPERVISOR_MAIN = new URL("./main.ts", import.meta.url).pathname;
const DATABASE_URL = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";

const FAST = {
  RECIO_HTTP_PORT: "0",
  RECIO_HEART_PING_MS: "100",
  RECIO_HEART_HANG_MS: "1000",
  RECIO_HEART_MAX_RESTARTS: "5",
};

function config(env: Record<string, string> = {}) {
  return loadConfig({ DATABASE_URL, ...FAST, ...env });
}

/** Runs the heart in this process over `heart_child.ts <mode> <n> <dir>`, recording its children. */
function heart(
  child: [mode: string, n: number, dir: string],
  options: Partial<HeartOptions> = {},
) {
  const stop = new AbortController();
  const pids: number[] = [];
  const exits: Deno.CommandStatus[] = [];
  const done = runHeart({
    config: config({ RECIO_DATA_DIR: child[2] }),
    command: [Deno.execPath(), "run", "-A", CHILD, child[0], String(child[1]), child[2]],
    signal: stop.signal,
    backoff: { minMs: 20, maxMs: 100 },
    stopGraceMs: 5_000,
    onChild: (pid) => pids.push(pid),
    onExit: (_pid, status) => exits.push(status),
    ...options,
  });
  return { done, pids, exits, stop: () => stop.abort() };
}

Deno.test("runHeart() restarts the supervisor with a new pid after it exits 1", async () => {
  await using dir = await tempDir();
  const h = heart(["crash", 2, dir.path]);
  try {
    await eventually(() => h.pids.length >= 2 && exists(`${dir.path}/ready-${h.pids[1]}`));
  } finally {
    h.stop();
  }
  assert.equal(await h.done, 0);
  assert.notEqual(h.pids[0], h.pids[1]);
  assert.equal(h.exits[0]?.code, 1);
  assert.equal(pidAlive(h.pids[0]!), false);
  assert.equal(pidAlive(h.pids[1]!), false, "stopping the heart stops the supervisor");
});

Deno.test("runHeart() SIGKILLs and restarts a supervisor that stops answering /healthz for hangMs", async () => {
  await using dir = await tempDir();
  const h = heart(["hang", 2, dir.path]);
  try {
    await eventually(() => h.pids.length >= 2, { timeoutMs: 20_000 });
  } finally {
    h.stop();
  }
  assert.equal(await h.done, 0);
  assert.equal(h.exits[0]?.signal, "SIGKILL");
  assert.equal(exists(`${dir.path}/stopped-${h.pids[0]}`), false, "killed, not asked to stop");
});

Deno.test("runHeart() gives up with 1 after maxRestarts abnormal exits within the window", async () => {
  await using dir = await tempDir();
  const h = heart(["crash", 0, dir.path], {
    config: config({ RECIO_DATA_DIR: dir.path, RECIO_HEART_MAX_RESTARTS: "2" }),
  });
  assert.equal(await h.done, 1);
  assert.equal(h.pids.length, 3, "the first start plus two restarts");
  assert.ok(h.exits.every((s) => s.code === 1));
});

Deno.test("runHeart() forgets failures older than windowMs, so spaced-out crashes never exhaust maxRestarts", async () => {
  await using dir = await tempDir();
  const h = heart(["crash", 0, dir.path], {
    config: config({ RECIO_DATA_DIR: dir.path, RECIO_HEART_MAX_RESTARTS: "1" }),
    windowMs: 1,
  });
  try {
    await eventually(() => h.pids.length >= 4);
  } finally {
    h.stop();
  }
  assert.equal(await h.done, 0);
});

Deno.test("runHeart() ends with 0 when the supervisor exits 0, after passing it DATABASE_URL, a concrete port and RECIO_HEART=1", async () => {
  await using dir = await tempDir();
  const h = heart(["exit0", 1, dir.path]);
  assert.equal(await h.done, 0);
  assert.equal(h.pids.length, 1);
  assert.equal(h.exits[0]?.code, 0);
  const env = JSON.parse(await Deno.readTextFile(`${dir.path}/ready-${h.pids[0]}`));
  assert.ok(Number(env.port) > 0);
  assert.equal(env.heart, "1");
  assert.equal(env.databaseUrl, DATABASE_URL);
  assert.equal(env.generateUserPasswords, null, "an external database's operator supplies them");
});

Deno.test("runHeart() notifies systemd READY=1 once the supervisor answers and STOPPING=1 at the end", async () => {
  await using dir = await tempDir();
  const sent: string[] = [];
  const notify = startSdNotify({
    env: { NOTIFY_SOCKET: "/run/fake-notify" },
    send: (m) => Promise.resolve(void sent.push(m)),
    pollMs: 20,
  });
  const h = heart(["serve", 0, dir.path], { notify });
  try {
    await eventually(() => sent.includes("READY=1"));
  } finally {
    h.stop();
  }
  assert.equal(await h.done, 0);
  assert.deepEqual(sent, ["READY=1", "STOPPING=1"]);
});

Deno.test("runHeart() does not restart a supervisor that exits 2 (invalid configuration) and returns 2", async () => {
  await using dir = await tempDir();
  const h = heart(["exit2", 0, dir.path]);
  assert.equal(await h.done, 2);
  assert.equal(h.pids.length, 1);
});

Deno.test("runHeart() retries a supervisor that exits 3 (database) on its own backoff, never giving up", async () => {
  await using dir = await tempDir();
  const starts: number[] = [];
  const h = heart(["exit3", 0, dir.path], {
    // One restart allowed for crashes: database exits must not count against it.
    config: config({ RECIO_DATA_DIR: dir.path, RECIO_HEART_MAX_RESTARTS: "1" }),
    databaseBackoff: { minMs: 150, maxMs: 600 },
    onChild: (pid) => {
      h.pids.push(pid);
      starts.push(performance.now());
    },
  });
  try {
    await eventually(() => h.pids.length >= 4, { timeoutMs: 20_000 });
  } finally {
    h.stop();
  }
  assert.equal(await h.done, 0, "stopped by us, not given up");
  assert.ok(h.exits.slice(0, 3).every((s) => s.code === 3));
  // The waits double from minMs (±20 % jitter): about 150, 300, 600 ms.
  const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
  assert.ok(gaps[0]! >= 120, `first wait ${gaps[0]}`);
  assert.ok(gaps[2]! >= 480, `third wait ${gaps[2]}`);
});

Deno.test("supervisor process exits 2 (not 3) when the database refuses its password, so the heart does not retry it", async () => {
  const u = new URL(DATABASE_URL);
  u.username = "recio_no_such_role";
  u.password = "S3cretPw";
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-cron", "--unstable-worker-options", SUPERVISOR_MAIN],
    env: { DATABASE_URL: u.href, RECIO_HTTP_PORT: "0", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 2, text);
  assert.match(text, /check the user, password and database name of DATABASE_URL/);
  assert.ok(!text.includes("S3cretPw"), "the password is never shown");
});

Deno.test("runHeart() SIGKILLs a supervisor that ignores SIGTERM once stopGraceMs has passed", async () => {
  await using dir = await tempDir();
  const h = heart(["hang", 0, dir.path], { stopGraceMs: 300 });
  // Its SIGTERM listener is in place before it spins.
  await eventually(() => h.pids.length === 1 && exists(`${dir.path}/spinning-${h.pids[0]}`));
  h.stop();
  assert.equal(await h.done, 0);
  assert.equal(h.exits[0]?.signal, "SIGKILL");
});

/** The heart as its own process (`tests/fixtures/heart_run.ts`) over a `serve` child. */
async function heartProcess(dir: string): Promise<{ proc: Deno.ChildProcess; child: number }> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", RUN, "serve", "0", dir],
    env: { DATABASE_URL, ...FAST, RECIO_DATA_DIR: dir, RECIO_LOG_LEVEL: "error" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const child = (JSON.parse(out.split("\n")[0]!) as { child: number }).child;
  await eventually(() => exists(`${dir}/ready-${child}`));
  return { proc, child };
}

async function ended(proc: Deno.ChildProcess): Promise<Deno.CommandStatus> {
  try {
    proc.kill("SIGKILL");
  } catch { /* exited */ }
  return await proc.status;
}

Deno.test("heart process - SIGTERM stops the supervisor (SIGTERM forwarded) and the heart exits 0", async () => {
  await using dir = await tempDir();
  const { proc, child } = await heartProcess(dir.path);
  try {
    proc.kill("SIGTERM");
    const status = await proc.status;
    assert.equal(status.code, 0);
    assert.equal(await Deno.readTextFile(`${dir.path}/stopped-${child}`), "SIGTERM");
    assert.equal(pidAlive(child), false);
  } finally {
    await ended(proc);
  }
});

Deno.test("runHeart() first stops the supervisor orphaned by a SIGKILLed heart, then runs its own", async () => {
  await using dir = await tempDir();
  const { proc, child: orphan } = await heartProcess(dir.path);
  await ended(proc);
  try {
    assert.ok(pidAlive(orphan), "SIGKILL of the heart leaves its supervisor running");
    const h = heart(["exit0", 1, dir.path]);
    assert.equal(await h.done, 0);
    assert.equal(await Deno.readTextFile(`${dir.path}/stopped-${orphan}`), "SIGTERM");
    assert.equal(pidAlive(orphan), false);
    assert.equal(h.exits[0]?.code, 0);
  } finally {
    try {
      Deno.kill(orphan, "SIGKILL");
    } catch { /* stopped */ }
  }
});

Deno.test("runHeart() without DATABASE_URL runs the supervisor on its embedded database, keeps it across a supervisor restart and stops it last", async () => {
  await using dir = await tempDir();
  const pgDir = `${dir.path}/pg`;
  const h = heart(["db", 2, dir.path], {
    config: loadConfig({ ...FAST, RECIO_DATA_DIR: dir.path, RECIO_PG_DIR: pgDir }),
  });
  let port: number;
  let server: number;
  try {
    await eventually(() => h.pids.length === 1 && exists(`${dir.path}/db-${h.pids[0]}`), {
      timeoutMs: 60_000,
    });
    const pidFile = (await Deno.readTextFile(`${pgDir}/postmaster.pid`)).split("\n");
    server = Number(pidFile[0]);
    port = Number(pidFile[3]);
    await eventually(() => h.pids.length >= 2 && exists(`${dir.path}/db-${h.pids[1]}`), {
      timeoutMs: 30_000,
    });
  } finally {
    h.stop();
  }
  assert.equal(await h.done, 0);
  assert.equal(h.exits[0]?.code, 1);
  for (const pid of h.pids.slice(0, 2)) {
    const answer = JSON.parse(await Deno.readTextFile(`${dir.path}/db-${pid}`));
    assert.deepEqual(answer, { one: 1, target: `127.0.0.1:${port}/postgres` });
    const env = JSON.parse(await Deno.readTextFile(`${dir.path}/ready-${pid}`));
    assert.equal(env.generateUserPasswords, "1", "the users' passwords are generated beside it");
  }
  assert.equal(pidAlive(server), false, "the embedded server was stopped");
  assert.equal(exists(`${pgDir}/postmaster.pid`), false);
  assert.equal(exists(`${pgDir}.owner`), false);
});

Deno.test("main.ts exits 2 and names the variable when the configuration is invalid", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: { RECIO_HTTP_PORT: "not-a-port" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /RECIO_HTTP_PORT/);
});

Deno.test("heartBackoff() doubles from minMs, caps at maxMs and jitters within ±20 %", () => {
  const b = { minMs: 100, maxMs: 1_000 };
  for (let i = 0; i < 50; i++) {
    const first = heartBackoff(1, b);
    assert.ok(first >= 80 && first <= 120, `first ${first}`);
    const third = heartBackoff(3, b);
    assert.ok(third >= 320 && third <= 480, `third ${third}`);
    const late = heartBackoff(30, b);
    assert.ok(late >= 800 && late <= 1_200, `late ${late}`);
  }
});

Deno.test("healthzUrl() pings wildcard binds on loopback and brackets IPv6 hosts", () => {
  assert.equal(healthzUrl("127.0.0.1", 7070), "http://127.0.0.1:7070/healthz");
  assert.equal(healthzUrl("0.0.0.0", 7070), "http://127.0.0.1:7070/healthz");
  assert.equal(healthzUrl("::", 7070), "http://[::1]:7070/healthz");
  assert.equal(healthzUrl("::1", 80), "http://[::1]:80/healthz");
});
