import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { createSql } from "../lib/db.ts";
import { SupervisorError } from "../lib/errors.ts";
import { createTestDb, type TestDb } from "../tests/_db.ts";
import { childStatus } from "../tests/_view.ts";
import { createStatusApp, type StatusAppDeps } from "./http.ts";
import { allowedHosts } from "./http_host.ts";
import { STATUS_PAGE } from "./status_page.ts";
import { STATUS_MAX_AGE_MS } from "./status_doc.ts";
import type { ChildStatus, Readiness, SupervisorView } from "./types.ts";

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const TOKEN = "s3cret-token-for-tests";

function child(id: string, over: Partial<ChildStatus> = {}): ChildStatus {
  return childStatus(id, T0, over);
}

/** A hand-written supervisor view that records the control calls it gets. */
class FakeView implements SupervisorView {
  readonly node = "test-node";
  readonly startedAt = T0 - 120_000;
  calls: { action: string; id: string; reason: string }[] = [];
  zombieCount = 0;
  refuse: string | null = null;
  #children: ChildStatus[];
  constructor(children: ChildStatus[]) {
    this.#children = children;
  }
  children(): ChildStatus[] {
    return this.#children.map((c) => ({ ...c }));
  }
  child(id: string): ChildStatus | undefined {
    const c = this.#children.find((x) => x.id === id);
    return c && { ...c };
  }
  readiness(): Readiness {
    const reasons = this.#children
      .filter((c) => c.critical && c.state !== "running")
      .map((c) => `${c.id} is ${c.state}`);
    return { ready: reasons.length === 0, reasons };
  }
  zombies(): number {
    return this.zombieCount;
  }
  #record(action: string, id: string, reason: string, state: ChildStatus["state"]) {
    if (this.refuse) return Promise.reject(new SupervisorError(this.refuse));
    this.calls.push({ action, id, reason });
    const c = this.#children.find((x) => x.id === id)!;
    c.state = state;
    if (action === "restart") c.incarnation++;
    return Promise.resolve();
  }
  restartChild(id: string, reason: string): Promise<void> {
    return this.#record("restart", id, reason, "starting");
  }
  stopChild(id: string, reason: string): Promise<void> {
    return this.#record("stop", id, reason, "stopped");
  }
  startChild(id: string, reason: string): Promise<void> {
    return this.#record("start", id, reason, "starting");
  }
}

function defaultChildren(): ChildStatus[] {
  return [
    child("system_monitor", { critical: true }),
    child("price_watchdog:btc", {
      critical: true,
      incarnation: 3,
      restarts: 2,
      restartsByCause: { crash: 1, stale: 1 },
      counters: { "rejected.bad_frame": 3, "rejected.bad_price": 1, "ws.frames-in": 1200 },
    }),
    child("kalshi_market_watchdog", {
      counters: { "rejected.bad_frame": 2, "1st.odd name": 5 },
    }),
  ];
}

function setup(db: { sql: TestDb["sql"] }, over: Partial<StatusAppDeps> = {}) {
  const view = over.view instanceof FakeView ? over.view : new FakeView(defaultChildren());
  const clock = new ManualClock(T0);
  const app = createStatusApp({
    view,
    sql: db.sql,
    token: TOKEN,
    clock,
    version: "9.9.9",
    ...over,
  });
  return { app, view, clock };
}

async function problemOf(res: Response) {
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assert.equal(body.type, "about:blank");
  assert.equal(body.status, res.status);
  assert.equal(typeof body.title, "string");
  assert.equal(typeof body.detail, "string");
  return body as { type: string; title: string; status: number; detail: string };
}

/** A port nothing listens on (taken from the OS, then released). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A pool that points at a closed port on 127.0.0.1. */
function deadSql(port = closedPort()) {
  const url = `postgres://postgres:hunter2pw@127.0.0.1:${port}/nowhere`;
  return { sql: createSql(url, { max: 1, connectTimeout: 1 }), port, url };
}

// --- a tiny Prometheus text-format checker --------------------------------------------------

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL_VALUE = String.raw`"(?:[^"\\\n]|\\[\\"n])*"`;
const LABELS =
  `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE}(?:,[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE})*)?\\}`;
const VALUE = String.raw`(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)`;
const SAMPLE = new RegExp(`^(${NAME})(${LABELS})? ${VALUE}$`);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses exposition text; throws on any line that breaks the format. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  assert.ok(text.endsWith("\n"), "exposition ends with a newline");
  const help = new Set<string>();
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      assert.match(meta[2]!, new RegExp(`^${NAME}$`), `metric name in "${line}"`);
      if (meta[1] === "HELP") {
        assert.ok(!help.has(meta[2]!), `one HELP for ${meta[2]}`);
        help.add(meta[2]!);
      } else {
        assert.ok(!types.has(meta[2]!), `one TYPE for ${meta[2]}`);
        assert.match(meta[3]!, /^(counter|gauge|histogram|summary|untyped)$/);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `sample line matches name{labels} value: ${JSON.stringify(line)}`);
    const name = m[1]!;
    assert.ok(help.has(name) && types.has(name), `${name} has HELP and TYPE before its samples`);
    const labels: Record<string, string> = {};
    for (
      const l of (m[2] ?? "").matchAll(new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)=(${LABEL_VALUE})`, "g"))
    ) {
      labels[l[1]!] = JSON.parse(l[2]!); // the three escapes are JSON's too;
    }
    samples.push({ name, labels, value: Number(line.slice(line.lastIndexOf(" ") + 1)) });
  }
  for (const h of help) assert.ok(types.has(h), `${h} has a TYPE`);
  return { samples, types };
}

function value(
  samples: Sample[],
  name: string,
  labels: Record<string, string>,
): number | undefined {
  return samples.find((s) =>
    s.name === name &&
    Object.keys(labels).length === Object.keys(s.labels).length &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  )?.value;
}

Deno.test("parsePrometheus() (the test's checker) rejects malformed lines", () => {
  const ok = '# HELP a_b x\n# TYPE a_b gauge\na_b{x="1"} 2\n';
  assert.equal(parsePrometheus(ok).samples.length, 1);
  assert.throws(() => parsePrometheus("# HELP a x\n# TYPE a gauge\na{x=1} 2\n"));
  assert.throws(() => parsePrometheus("a 1\n"));
  assert.throws(() => parsePrometheus("# HELP a x\n# TYPE a gauge\na-b 1\n"));
  assert.throws(() => parsePrometheus("# HELP a x\n# TYPE a gauge\na two\n"));
});

// --- endpoints that need no rows --------------------------------------------------------------

Deno.test("createStatusApp() - endpoints without database rows", async (t) => {
  await using db = await createTestDb();

  await t.step("GET /healthz answers 200 even when the database is down", async () => {
    const dead = deadSql();
    try {
      const { app } = setup({ sql: dead.sql });
      const res = await app.request("/healthz");
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: "ok" });
    } finally {
      await dead.sql.end({ timeout: 0 });
    }
  });

  await t.step(
    "GET /readyz answers 200 when critical actors run and the database answers",
    async () => {
      const { app } = setup(db);
      const res = await app.request("/readyz");
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { ready: true });
    },
  );

  await t.step(
    "GET /readyz answers 503 with the reason when a critical child is failed",
    async () => {
      const view = new FakeView([child("a", { critical: true, state: "failed" }), child("b")]);
      const { app } = setup(db, { view });
      const res = await app.request("/readyz");
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { ready: false, reasons: ["a is failed"] });
    },
  );

  await t.step(
    "GET /readyz answers 503 'database unreachable' when the pool points at a closed port",
    async () => {
      const dead = deadSql();
      try {
        const { app } = setup({ sql: dead.sql });
        const res = await app.request("/readyz");
        assert.equal(res.status, 503);
        const body = await res.json();
        assert.deepEqual(body, { ready: false, reasons: ["database unreachable"] });
      } finally {
        await dead.sql.end({ timeout: 0 });
      }
    },
  );

  await t.step(
    "GET /status reports node, version, actors, zombies, database and rejected totals",
    async () => {
      const { app, view, clock } = setup(db);
      view.zombieCount = 1;
      clock.advance(5_000);
      const res = await app.request("/status");
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.node, "test-node");
      assert.equal(body.version, "9.9.9");
      assert.equal(body.uptimeMs, 125_000);
      assert.deepEqual(body.readiness, { ready: true, reasons: [] });
      assert.equal(body.database.reachable, true);
      assert.equal(typeof body.database.latencyMs, "number");
      assert.equal(body.zombies, 1);
      assert.equal(body.health, null, "no health row yet");
      assert.deepEqual(body.actors.map((a: ChildStatus) => a.id), [
        "system_monitor",
        "price_watchdog:btc",
        "kalshi_market_watchdog",
      ]);
      assert.deepEqual(body.actors[1], view.child("price_watchdog:btc"));
      assert.deepEqual(body.rejectedInputs, {
        total: 6,
        byReason: { bad_frame: 5, bad_price: 1 },
        byActor: { "price_watchdog:btc": 4, kalshi_market_watchdog: 2 },
      });
      assert.equal("jobs" in body, false);
    },
  );

  await t.step("GET /status includes extra.jobs() when given", async () => {
    const { app } = setup(db, { extra: { jobs: () => [{ job: "retention", next: "03:00" }] } });
    const body = await (await app.request("/status")).json();
    assert.deepEqual(body.jobs, [{ job: "retention", next: "03:00" }]);
  });

  await t.step("GET /status shows the database down without its URL or password", async () => {
    const dead = deadSql();
    try {
      const { app } = setup({ sql: dead.sql });
      const res = await app.request("/status");
      assert.equal(res.status, 200);
      const text = await res.text();
      const body = JSON.parse(text);
      assert.deepEqual(body.database, { reachable: false, latencyMs: null });
      assert.deepEqual(body.readiness.reasons, ["database unreachable"]);
      assert.equal(body.health, null);
      assert.ok(!text.includes("hunter2pw") && !text.includes(String(dead.port)));
    } finally {
      await dead.sql.end({ timeout: 0 });
    }
  });

  await t.step("GET /actors lists every child; /actors/:id returns one", async () => {
    const { app, view } = setup(db);
    const all = await (await app.request("/actors")).json();
    assert.deepEqual(all, view.children());
    const res = await app.request(`/actors/${encodeURIComponent("price_watchdog:btc")}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), view.child("price_watchdog:btc"));
  });

  await t.step("GET /actors/:id answers a 404 problem for an unknown id", async () => {
    const { app } = setup(db);
    const res = await app.request("/actors/nope");
    assert.equal(res.status, 404);
    const body = await problemOf(res);
    assert.equal(body.title, "Not Found");
    assert.match(body.detail, /"nope"/);
  });

  await t.step("an unknown path answers a 404 problem", async () => {
    const { app } = setup(db);
    const res = await app.request("/no/such/thing");
    assert.equal(res.status, 404);
    await problemOf(res);
  });

  await t.step("GET / serves the status page", async () => {
    const { app } = setup(db);
    const res = await app.request("/");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const html = await res.text();
    assert.equal(html, STATUS_PAGE);
    assert.ok(!/<(script|link)[^>]+(src|href)=/i.test(html), "no external assets");
  });
});

Deno.test("GET /events - newest first, filtered by actor and since, limited", async (t) => {
  await using db = await createTestDb();
  const rows = Array.from({ length: 6 }, (_, i) => ({
    at: new Date(T0 + i * 1_000),
    node: "test-node",
    actor_id: i % 2 === 0 ? "a" : "b",
    incarnation: i,
    event: "restart",
    reason: `r${i}`,
  }));
  await db.sql`insert into system.supervisor_events ${db.sql(rows)}`;
  const { app } = setup(db);
  const get = async (q: string) => {
    const res = await app.request(`/events${q}`);
    assert.equal(res.status, 200);
    return (await res.json()) as { reason: string; actor_id: string; at: string }[];
  };

  await t.step("without parameters returns every event, newest first", async () => {
    assert.deepEqual((await get("")).map((r) => r.reason), ["r5", "r4", "r3", "r2", "r1", "r0"]);
  });
  await t.step("actor= keeps that actor's events", async () => {
    assert.deepEqual((await get("?actor=b")).map((r) => r.reason), ["r5", "r3", "r1"]);
  });
  await t.step("since= keeps events at or after that time", async () => {
    const since = new Date(T0 + 3_000).toISOString();
    assert.deepEqual((await get(`?since=${since}`)).map((r) => r.reason), ["r5", "r4", "r3"]);
    const offset = "2026-01-15T07:00:04-05:00"; // = T0 + 4 s in UTC
    assert.deepEqual(
      (await get(`?since=${encodeURIComponent(offset)}&actor=a`)).map((r) => r.reason),
      ["r4"],
    );
  });
  await t.step("each row has the table's columns", async () => {
    const [row] = await get("?limit=1");
    assert.deepEqual(Object.keys(row!).sort(), [
      "actor_id",
      "at",
      "details",
      "epoch",
      "error",
      "event",
      "id",
      "incarnation",
      "node",
      "reason",
      "restart_count",
      "uptime_ms",
    ]);
  });
  await t.step("limit= caps the rows", async () => {
    assert.deepEqual((await get("?limit=2")).map((r) => r.reason), ["r5", "r4"]);
    assert.equal((await get("?limit=1000")).length, 6);
  });

  for (
    const [q, param] of [
      ["?limit=0", "limit"],
      ["?limit=1001", "limit"],
      ["?limit=abc", "limit"],
      ["?limit=2.5", "limit"],
      ["?since=yesterday", "since"],
      ["?since=2026-01-15", "since"],
      ["?actor=", "actor"],
      ["?actr=a", "actr"],
      ["?actor=%00", "actor"],
      ["?actor=a%0Ab", "actor"],
      ["?since=0000-01-01T00:00:00Z", "since"],
      ["?since=9999-12-31T23:59:59-14:00", "since"],
      ["?since=1969-12-31T23:59:59Z", "since"],
      ["?limit=1e3", "limit"],
      ["?limit=0x10", "limit"],
    ]
  ) {
    await t.step(`a bad query ${q} answers a 400 problem naming "${param}"`, async () => {
      const res = await app.request(`/events${q}`);
      assert.equal(res.status, 400);
      const body = await problemOf(res);
      assert.ok(body.detail.includes(`"${param}"`), body.detail);
    });
  }

  await t.step("bad queries are counted as rejected http input", async () => {
    const text = await (await app.request("/metrics")).text();
    const { samples } = parsePrometheus(text);
    assert.equal(
      value(samples, "recio_rejected_inputs_total", { actor: "http", reason: "bad_query" }),
      15,
    );
    const status = await (await app.request("/status")).json();
    assert.equal(status.rejectedInputs.byActor.http, 15);
  });
});

Deno.test("GET /events answers a 503 problem without the URL when the database is down", async () => {
  const dead = deadSql();
  try {
    const { app } = setup({ sql: dead.sql });
    const res = await app.request("/events");
    assert.equal(res.status, 503);
    const body = await problemOf(res);
    assert.equal(body.detail, "database unreachable");
    assert.ok(!JSON.stringify(body).includes(String(dead.port)));
  } finally {
    await dead.sql.end({ timeout: 0 });
  }
});

Deno.test("GET /status returns the latest health row and tolerates a missing view", async () => {
  await using db = await createTestDb();
  await db.sql`
    insert into system.health_status (checked_at, node, overall_status, database_ok, db_latency_ms, details)
    values
      (${new Date(T0 - 30_000)}, 'test-node', 'degraded', true, 2.5, ${db.sql.json({ n: 1 })}),
      (${new Date(T0 - 15_000)}, 'test-node', 'healthy', true, 1.25, ${db.sql.json({ n: 2 })})`;
  const { app, clock } = setup(db);
  const body = await (await app.request("/status")).json();
  assert.equal(body.health.overall_status, "healthy");
  assert.equal(body.health.db_latency_ms, "1.25");
  assert.deepEqual(body.health.details, { n: 2 });

  await db.sql`drop view system.health_status_latest`;
  clock.advance(STATUS_MAX_AGE_MS); // the document built above expires
  const res = await app.request("/status");
  assert.equal(res.status, 200);
  assert.equal((await res.json()).health, null);
});

// --- /metrics ---------------------------------------------------------------------------------

Deno.test("GET /metrics - Prometheus text with every family, one-hot states and escaped labels", async () => {
  await using db = await createTestDb();
  const view = new FakeView([
    ...defaultChildren(),
    child('we"ird\\id\nx', { state: "backoff", heartbeatAgeMs: null, freshnessLagMs: null }),
    child("failed_one", { critical: true, state: "failed" }),
  ]);
  view.zombieCount = 2;
  const { app } = setup(db, { view });
  const res = await app.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const { samples, types } = parsePrometheus(await res.text());

  for (
    const name of [
      "recio_actor_up",
      "recio_actor_state",
      "recio_actor_restarts_total",
      "recio_actor_incarnation",
      "recio_actor_heartbeat_age_seconds",
      "recio_actor_freshness_lag_seconds",
      "recio_actor_stale",
      "recio_rejected_inputs_total",
      "recio_actor_counter",
      "recio_zombie_workers",
      "recio_ready",
    ]
  ) assert.ok(types.has(name), `family ${name}`);
  assert.equal(types.get("recio_actor_restarts_total"), "counter");
  assert.equal(types.get("recio_rejected_inputs_total"), "counter");

  const btc = { actor: "price_watchdog:btc" };
  assert.equal(value(samples, "recio_ready", {}), 0);
  assert.equal(value(samples, "recio_zombie_workers", {}), 2);
  assert.equal(value(samples, "recio_actor_up", btc), 1);
  assert.equal(value(samples, "recio_actor_up", { actor: "failed_one" }), 0);
  assert.equal(value(samples, "recio_actor_incarnation", btc), 3);
  assert.equal(value(samples, "recio_actor_heartbeat_age_seconds", btc), 0.5);
  assert.equal(value(samples, "recio_actor_freshness_lag_seconds", btc), 1.5);
  assert.equal(value(samples, "recio_actor_stale", btc), 0);
  assert.equal(value(samples, "recio_actor_restarts_total", { ...btc, cause: "crash" }), 1);
  assert.equal(value(samples, "recio_actor_restarts_total", { ...btc, cause: "stale" }), 1);
  assert.equal(value(samples, "recio_rejected_inputs_total", { ...btc, reason: "bad_frame" }), 3);
  assert.equal(value(samples, "recio_rejected_inputs_total", { ...btc, reason: "bad_price" }), 1);
  assert.equal(value(samples, "recio_actor_counter", { ...btc, name: "ws_frames_in" }), 1200);
  assert.equal(
    value(samples, "recio_actor_counter", {
      actor: "kalshi_market_watchdog",
      name: "_1st_odd_name",
    }),
    5,
  );

  const weird = 'we"ird\\id\nx';
  assert.equal(value(samples, "recio_actor_state", { actor: weird, state: "backoff" }), 1);
  assert.equal(
    value(samples, "recio_actor_heartbeat_age_seconds", { actor: weird }),
    undefined,
    "an unknown heartbeat age is left out, not written as 0",
  );
  for (const c of view.children()) {
    const states = samples.filter((s) => s.name === "recio_actor_state" && s.labels.actor === c.id);
    assert.equal(states.length, 7, `${c.id} has one sample per state`);
    assert.equal(states.reduce((n, s) => n + s.value, 0), 1, `${c.id} is in exactly one state`);
    assert.equal(states.find((s) => s.value === 1)!.labels.state, c.state);
  }
});

// --- control endpoints ------------------------------------------------------------------------

Deno.test("POST /actors/:id/{restart,stop,start} - bearer token guard", async (t) => {
  await using db = await createTestDb();

  await t.step("without a configured token answers 403 and calls nothing", async () => {
    const { app, view } = setup(db, { token: undefined });
    const res = await app.request("/actors/system_monitor/restart", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 403);
    assert.equal(
      (await problemOf(res)).detail,
      "control endpoints are disabled (set STATUS_TOKEN)",
    );
    assert.deepEqual(view.calls, []);
  });

  for (
    const [label, headers] of [
      ["no Authorization header", {}],
      ["a wrong token", { authorization: "Bearer wrong-token" }],
      ["the token with a suffix", { authorization: `Bearer ${TOKEN}x` }],
      ["a token prefix", { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
      ["another scheme", { authorization: `Basic ${btoa(`u:${TOKEN}`)}` }],
      ["an empty bearer", { authorization: "Bearer " }],
    ] as const
  ) {
    await t.step(`with ${label} answers 401 with WWW-Authenticate and calls nothing`, async () => {
      const { app, view } = setup(db);
      for (const action of ["restart", "stop", "start"]) {
        const res = await app.request(`/actors/system_monitor/${action}`, {
          method: "POST",
          headers,
        });
        assert.equal(res.status, 401);
        assert.equal(res.headers.get("www-authenticate"), "Bearer");
        const text = JSON.stringify(await problemOf(res));
        assert.ok(!text.includes(TOKEN), "the token is never echoed");
      }
      assert.deepEqual(view.calls, []);
    });
  }

  await t.step("with the right token answers 404 for an unknown actor", async () => {
    const { app, view } = setup(db);
    const res = await app.request("/actors/ghost/restart", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 404);
    await problemOf(res);
    assert.deepEqual(view.calls, []);
  });

  for (
    const [action, state, incarnation] of [
      ["restart", "starting", 4],
      ["stop", "stopped", 3],
      ["start", "starting", 3],
    ] as const
  ) {
    await t.step(`${action} with the right token answers 202 with the child's status`, async () => {
      const { app, view } = setup(db);
      const res = await app.request(
        `/actors/${encodeURIComponent("price_watchdog:btc")}/${action}`,
        {
          method: "POST",
          headers: { authorization: `bearer ${TOKEN}` },
        },
      );
      assert.equal(res.status, 202);
      const body = await res.json();
      assert.equal(body.id, "price_watchdog:btc");
      assert.equal(body.state, state);
      assert.equal(body.incarnation, incarnation);
      assert.deepEqual(view.calls, [{
        action,
        id: "price_watchdog:btc",
        reason: "manual via API",
      }]);
    });
  }

  await t.step("a refusal by the supervisor answers a 409 problem", async () => {
    const { app, view } = setup(db);
    view.refuse = 'Cannot restart "system_monitor": stopping';
    const res = await app.request("/actors/system_monitor/restart", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 409);
    assert.equal((await problemOf(res)).detail, view.refuse);
  });

  await t.step("GET on a control path is not a control request", async () => {
    const { app, view } = setup(db);
    const res = await app.request("/actors/system_monitor/restart", {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 404);
    assert.deepEqual(view.calls, []);
  });
});

// --- market data read endpoints ---------------------------------------------------------------

Deno.test("GET /prices/:symbol/latest - newest row of the symbol's price log", async (t) => {
  await using db = await createTestDb();
  const { app } = setup(db);

  await t.step("answers 404 while the table has no rows", async () => {
    const res = await app.request("/prices/btc/latest");
    assert.equal(res.status, 404);
    assert.match((await problemOf(res)).detail, /no prices/);
  });

  await db.sql`
    insert into live_data.btc_price_log ("timestamp", price, momentum, delta_1m, delta_30m)
    values
      (${new Date(T0 - 2_000)}, '97000.12345678', '0.010000', '0.020000', null),
      (${new Date(T0 - 1_000)}, '97001.50000000', '-0.012345', '0.030000', '1.500000'),
      (${new Date(T0 - 3_000)}, '96999.00000000', null, null, null)`;

  await t.step(
    "returns the newest row with exact decimals, upper- or lower-case symbol",
    async () => {
      for (const symbol of ["btc", "BTC"]) {
        const res = await app.request(`/prices/${symbol}/latest`);
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.symbol, "btc");
        assert.equal(body.price, "97001.50000000");
        assert.equal(body.momentum, "-0.012345");
        assert.equal(body.delta_1m, "0.030000");
        assert.equal(body.delta_2m, null);
        assert.equal(body.delta_30m, "1.500000");
        assert.equal(body.timestamp, new Date(T0 - 1_000).toISOString());
        assert.equal(body.ageMs, 1_000);
      }
    },
  );

  await t.step("answers 404 for eth while its log is empty", async () => {
    assert.equal((await app.request("/prices/eth/latest")).status, 404);
  });

  await t.step("answers 404 for a symbol without a price log table", async () => {
    const res = await app.request("/prices/doge/latest");
    assert.equal(res.status, 404);
    assert.match((await problemOf(res)).detail, /unknown symbol "doge"/);
  });

  for (const bad of ["b%20c", "btc%3Bdrop", "x".repeat(17), "live_data.btc"]) {
    await t.step(`answers 400 for the symbol ${JSON.stringify(bad)}`, async () => {
      const res = await app.request(`/prices/${bad}/latest`);
      assert.equal(res.status, 400);
      assert.match((await problemOf(res)).detail, /"symbol"/);
    });
  }
});

Deno.test("GET /strike-table/:symbol - header and rows ordered by strike", async (t) => {
  await using db = await createTestDb();
  const { app } = setup(db);

  await t.step("answers 404 when there is no strike table", async () => {
    const res = await app.request("/strike-table/btc");
    assert.equal(res.status, 404);
    await problemOf(res);
  });

  await db.sql`
    insert into live_data.strike_table_header
      (symbol, current_price, ttc_seconds, event_ticker, stale, stale_reason, last_updated)
    values ('BTC', '97001.5', 1800, 'KXBTCD-26JAN1513', true, 'price feed stale', ${new Date(T0)})`;
  const strikes = ["97250", "96750", "97000", "96500.5"].map((strike) => ({
    symbol: "BTC",
    strike,
    probability: "0.5",
    ticker: `KXBTCD-26JAN1513-T${strike}`,
  }));
  await db.sql`insert into live_data.strike_table ${db.sql(strikes)}`;

  await t.step("returns the header with stale/stale_reason and the rows by strike", async () => {
    for (const symbol of ["btc", "BTC"]) {
      const res = await app.request(`/strike-table/${symbol}`);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.symbol, "btc");
      assert.equal(body.stale, true);
      assert.equal(body.stale_reason, "price feed stale");
      assert.equal(body.header.current_price, "97001.5");
      assert.equal(body.header.event_ticker, "KXBTCD-26JAN1513");
      assert.deepEqual(
        body.strikes.map((r: { strike: string }) => r.strike),
        ["96500.5", "96750", "97000", "97250"],
      );
    }
  });

  await t.step("answers 404 for a symbol without rows", async () => {
    assert.equal((await app.request("/strike-table/eth")).status, 404);
  });

  await t.step("answers 400 for a malformed symbol", async () => {
    const res = await app.request("/strike-table/b'tc");
    assert.equal(res.status, 400);
    assert.match((await problemOf(res)).detail, /"symbol"/);
  });
});

Deno.test("createStatusApp() - an unexpected error is a 500 problem that echoes nothing", async () => {
  await using db = await createTestDb();
  const view = new FakeView([child("a")]);
  view.children = () => {
    throw new Error("boom at postgres://postgres:hunter2pw@10.0.0.1:5432/db");
  };
  const { app } = setup(db, { view });
  const res = await app.request("/actors");
  assert.equal(res.status, 500);
  const body = await problemOf(res);
  assert.equal(body.detail, "internal error");
  assert.ok(!JSON.stringify(body).includes("hunter2pw"));
});

Deno.test("createStatusApp() - answers only the allowed Host names (DNS rebinding), 421 otherwise", async () => {
  await using db = await createTestDb();
  const { app } = setup(db);
  for (const host of ["127.0.0.1:7070", "localhost:7070", "[::1]:7070", "localhost"]) {
    const res = await app.request("/status", { headers: { host } });
    assert.equal(res.status, 200, host);
  }
  for (const host of ["evil.example", "evil.example:7070", "127.0.0.1.evil.example:7070"]) {
    for (const path of ["/status", "/healthz", "/events", "/actors", "/nope"]) {
      const res = await app.request(path, { headers: { host } });
      assert.equal(res.status, 421, `${host} ${path}`);
      assert.match((await problemOf(res)).detail, /Host/);
    }
  }
  const { samples } = parsePrometheus(await (await app.request("/metrics")).text());
  assert.equal(
    value(samples, "recio_rejected_inputs_total", { actor: "http", reason: "bad_host" }),
    15,
  );
  // Behind a reverse proxy: its names are configured.
  const proxied = setup(db, { allowedHosts: allowedHosts("0.0.0.0", ["status.example.com"]) });
  const ok = await proxied.app.request("/healthz", { headers: { host: "status.example.com" } });
  assert.equal(ok.status, 200);
  const lan = await proxied.app.request("/healthz", { headers: { host: "0.0.0.0:7070" } });
  assert.equal(lan.status, 421);
});

/** A view with one cold singleton (`solo`) held by `holder`, and the hand-over calls it gets. */
class ClusterView extends FakeView {
  holder: string | null = "n2";
  handedOver: string[] = [];
  heldElsewhere(id: string): string | null {
    return id === "solo" && this.holder !== this.node ? this.holder : null;
  }
  handover(id: string): Promise<string> {
    this.handedOver.push(id);
    return Promise.resolve("n3");
  }
}

Deno.test("cluster endpoints - GET /cluster, 409 naming the holder, handover guarded and checked", async (t) => {
  await using db = await createTestDb();
  const view = new ClusterView([
    ...defaultChildren(),
    child("solo", { singleton: "cold", lease: { held: false, holder: "n2", epoch: null } }),
  ]);
  const doc = {
    node: "test-node",
    nodes: [{ node: "test-node", lastSeenAt: new Date(T0).toISOString(), alive: true }],
    leases: [{ name: "solo", holder: "n2", epoch: 7, expiresAt: new Date(T0).toISOString() }],
  };
  const cluster = {
    doc: () => Promise.resolve(doc as never),
    stats: () => ({ cycles: 5, failures: 1 }),
  };
  const { app } = setup(db, { view, cluster });
  const post = (path: string, auth = true) =>
    app.request(path, {
      method: "POST",
      headers: auth ? { authorization: `Bearer ${TOKEN}` } : {},
    });
  await t.step("GET /cluster and /status show the nodes and leases", async () => {
    const res = await app.request("/cluster");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), doc);
    const status = await (await app.request("/status")).json();
    assert.deepEqual(status.cluster, doc);
  });
  await t.step("/metrics has the lease gauges", async () => {
    const text = await (await app.request("/metrics")).text();
    assert.match(text, /recio_lease_epoch\{lease="solo"\} 7/);
    assert.match(text, /recio_lease_held\{lease="solo",holder="n2"\} 0/);
    assert.match(text, /recio_lease_cycle_failures_total 1/);
    assert.match(text, /recio_cluster_nodes_alive 1/);
  });
  await t.step(
    "control requests for a child held elsewhere answer 409 naming the holder",
    async () => {
      for (const action of ["restart", "stop", "start", "kill", "handover"]) {
        const res = await post(`/actors/solo/${action}`);
        assert.equal(res.status, 409, action);
        assert.match((await res.json()).detail, /runs on node "n2"/);
      }
      assert.deepEqual(view.calls, []);
    },
  );
  await t.step(
    "handover: token required, singletons only, then 202 with the new holder",
    async () => {
      assert.equal((await post("/actors/solo/handover", false)).status, 401);
      const notSingleton = await post("/actors/system_monitor/handover");
      assert.equal(notSingleton.status, 400);
      assert.equal((await post("/actors/nope/handover")).status, 404);
      view.holder = view.node;
      const res = await post("/actors/solo/handover");
      assert.equal(res.status, 202);
      assert.equal((await res.json()).handedOverTo, "n3");
      assert.deepEqual(view.handedOver, ["solo"]);
    },
  );
  await t.step("without a cluster GET /cluster is 404", async () => {
    const plain = setup(db).app;
    assert.equal((await plain.request("/cluster")).status, 404);
  });
});
