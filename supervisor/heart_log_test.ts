import assert from "node:assert/strict";
import { getLogger, setupLogging } from "../lib/log.ts";
import { heartLogger, type HeartLogLevel } from "./heart_log.ts";

type Method = "debug" | "info" | "warn" | "error";

/** What the heart logs: plain values, a secret-named field, an error text with a password. */
const RECORDS: [HeartLogLevel, string, Record<string, unknown>][] = [
  ["info", "Supervisor process started (pid {pid}, port {port})", { pid: 4242, port: 7070 }],
  ["warning", "Stopping the supervisor (pid {pid}) left running by a heart that died", { pid: 7 }],
  [
    "error",
    "Supervisor exited abnormally (code {code}, signal {signal}); restart {n} in {delay} ms",
    {
      code: null,
      signal: "SIGKILL",
      n: 2,
      delay: 512,
    },
  ],
  ["fatal", "Cannot start the embedded database: {error}", {
    error: 'connect postgres://recio:hunter2@127.0.0.1:5432/x failed: "quoted" \u0085',
  }],
  ["info", "Login {password} as {user}", {
    password: "hunter2",
    user: "recio",
    nested: { token: 1 },
  }],
  ["info", "Stopping: asking the supervisor to stop", {}],
  ["warning", "Odd {{braces}} and {missing} and {flag}", { flag: true, ms: 1.5 }],
];

/** The lines LogTape writes when `setupLogging` configured it, per console method. */
async function logtapeLines(format: "json" | "text"): Promise<[Method, string][]> {
  const out: [Method, string][] = [];
  const saved = { ...console };
  for (const m of ["debug", "info", "warn", "error"] as const) {
    console[m] = (line: string) => out.push([m, line]);
  }
  try {
    await setupLogging({ format, level: "debug" });
    const log = getLogger("heart");
    for (const [level, message, props] of RECORDS) {
      if (level === "warning") log.warn(message, props);
      else log[level as "info" | "error" | "fatal"](message, props);
    }
  } finally {
    Object.assign(console, saved);
    await setupLogging({ format: "json", level: "fatal" });
  }
  return out;
}

function heartLines(format: "json" | "text", level: HeartLogLevel = "debug"): [Method, string][] {
  const out: [Method, string][] = [];
  const log = heartLogger({ format, level, write: (m, line) => out.push([m, line]) });
  for (const [lvl, message, props] of RECORDS) {
    (lvl === "warning" ? log.warn : log[lvl as "info" | "error" | "fatal"])(message, props);
  }
  return out;
}

Deno.test("heartLogger() writes LogTape's JSON lines (setupLogging's), on the same console methods", async () => {
  const want = await logtapeLines("json");
  const got = heartLines("json");
  assert.equal(got.length, RECORDS.length);
  const strip = ([m, line]: [Method, string]) => {
    const o = JSON.parse(line);
    assert.match(o["@timestamp"], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    return [m, line.replace(/"@timestamp":"[^"]+"/, "")];
  };
  assert.deepEqual(got.map(strip), want.map(strip));
  const text = got.map(([, l]) => l).join("\n");
  assert.ok(!text.includes("hunter2"), text);
  assert.ok(text.includes("recio:[REDACTED]@127.0.0.1"));
});

Deno.test("heartLogger() writes LogTape's text lines (setupLogging's) in a terminal", async () => {
  const want = await logtapeLines("text");
  const got = heartLines("text");
  const stamp = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+00:00 /;
  for (const [, line] of got) assert.match(line, stamp);
  const strip = ([m, line]: [Method, string]) => [m, line.replace(stamp, "")];
  assert.deepEqual(got.map(strip), want.map(strip));
});

Deno.test("heartLogger() drops the records under its level", () => {
  const got = heartLines("json", "error");
  assert.deepEqual(got.map(([m]) => m), ["error", "error"]);
});
