import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { getLogger, RateLimitedLog, redactText, setupLogging } from "./log.ts";

Deno.test("redactText() removes connection-string passwords, private keys and bearer tokens", () => {
  const text = [
    "connect postgres://recio:hunter2@db:5432/x failed",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    "Authorization: Bearer abc.def-ghi",
  ].join(" | ");
  const out = redactText(text);
  assert.ok(!out.includes("hunter2"));
  assert.ok(out.includes("postgres://recio:[REDACTED]@db:5432/x"));
  assert.ok(!out.includes("MIIEow"));
  assert.ok(!out.includes("abc.def-ghi"));
});

Deno.test("redactText() removes the password of any user:password@ shape, well formed or not", () => {
  const cases = [
    "postgres:/secx:S3cretPw@127.0.0.1:5432/x",
    "secx:S3cretPw@127.0.0.1",
    "url=mysql://secx:S3cretPw@h/x",
    "postgresql://secx:S3c:ret/Pw@h:5432/x",
    "postgres://secx:S3c@retPw@h/x",
    'Cannot connect to "secx:S3cretPw@host"',
  ];
  for (const text of cases) {
    const out = redactText(text);
    assert.ok(!/S3c|retPw/.test(out), `${text} -> ${out}`);
    assert.match(out, /:\[REDACTED\]@/);
  }
  assert.equal(redactText("postgres://recio:pw@db/x"), "postgres://recio:[REDACTED]@db/x");
  assert.equal(redactText("at 12:30 on host db"), "at 12:30 on host db", "no @, nothing redacted");
});

Deno.test("setupLogging() redacts secret fields and secret patterns in every sink", async () => {
  const records: LogRecord[] = [];
  await setupLogging({ format: "json", level: "info", sinks: { test: (r) => records.push(r) } });
  const log = getLogger("test");
  log.info("Connecting with {password} and {databaseUrl}", {
    password: "s3cret",
    databaseUrl: "postgres://u:s3cret@h/d",
    symbol: "BTC",
  });
  assert.equal(records.length, 1);
  const props = records[0]!.properties;
  assert.ok(!JSON.stringify(records[0]).includes("s3cret"), "no secret anywhere in the record");
  assert.equal(props.symbol, "BTC", "other fields are kept");
  await setupLogging({ format: "json", level: "fatal" });
});

Deno.test("RateLimitedLog lets perWindow messages through per key, then counts the rest", () => {
  const seen: Record<string, unknown>[] = [];
  const fake = { warn: (_m: string, p: Record<string, unknown>) => seen.push(p) };
  let now = 0;
  const rl = new RateLimitedLog(fake as never, { perWindow: 2, windowMs: 1000, now: () => now });
  for (let i = 0; i < 5; i++) rl.warn("bad_price", "rejected", { i });
  rl.warn("other", "rejected", { i: 99 });
  assert.equal(seen.length, 3);
  now = 1000;
  rl.warn("bad_price", "rejected", { i: 5 });
  assert.deepEqual(seen[3], { i: 5, suppressed: 3 });
});
