import assert from "node:assert/strict";
import { databaseHostPorts, databaseUrlProblem, describeTarget, parseDatabaseUrl } from "./db.ts";

const SECRET = "S3cretPw";

Deno.test("parseDatabaseUrl() accepts single- and multi-host postgres URLs", () => {
  assert.deepEqual(parseDatabaseUrl("postgres://u:p@127.0.0.1:5433/recio"), {
    hosts: [{ host: "127.0.0.1", port: 5433 }],
    database: "recio",
  });
  assert.deepEqual(parseDatabaseUrl("postgresql://db.example/x?sslmode=require"), {
    hosts: [{ host: "db.example", port: 5432 }],
    database: "x",
  });
  const multi = "postgres://u@h1:5432,h2:5433,[::1]/d?target_session_attrs=primary";
  assert.deepEqual(databaseHostPorts(multi), ["h1:5432", "h2:5433", "[::1]:5432"]);
  assert.equal(describeTarget(multi), "h1:5432,h2:5433,[::1]:5432/d");
  assert.equal(describeTarget("postgres://u:p@h/"), "h:5432/");
});

Deno.test("parseDatabaseUrl() refuses malformed URLs with a message that shows nothing after the scheme", () => {
  const bad = [
    `postgres:/secx:${SECRET}@127.0.0.1:5432/x`, // one slash
    `secx:${SECRET}@127.0.0.1`, // no scheme
    `http://secx:${SECRET}@127.0.0.1/x`, // another scheme
    `postgres://secx:${SECRET}@/x`, // no host
    `postgres://secx:${SECRET}@h:99999/x`, // port out of range
    `postgres://secx:${SECRET}@h:1e3/x`,
    `postgres://secx:${SECRET}@bad_host!/x`,
    `postgres://secx:${SECRET}@h/%zz`,
    "",
  ];
  for (const url of bad) {
    const problem = databaseUrlProblem(url);
    assert.ok(problem, `refused: ${url}`);
    assert.ok(!problem.includes(SECRET) && !problem.includes("secx"), problem);
    assert.ok(!problem.includes("127.0.0.1"), problem);
    assert.equal(describeTarget(url), "an invalid DATABASE_URL");
  }
  assert.match(databaseUrlProblem(`postgres:/secx:${SECRET}@h/x`)!, /must be followed by \/\//);
  assert.match(databaseUrlProblem(`secx:${SECRET}@h`)!, /scheme is not postgres/);
});

Deno.test("parseDatabaseUrl() takes each target_session_attrs postgres.js knows and refuses others without showing the URL", () => {
  for (const v of ["primary", "read-write", "standby", "read-only", "prefer-standby"]) {
    assert.equal(databaseUrlProblem(`postgres://u@h1,h2/d?target_session_attrs=${v}`), undefined);
  }
  for (
    const q of [
      "target_session_attrs=any", // libpq's default; postgres.js refuses it
      "target_session_attrs=Primary",
      "target_session_attrs=",
      "target_session_attrs=primary&target_session_attrs=standby",
    ]
  ) {
    const problem = databaseUrlProblem(`postgres://secx:${SECRET}@h1,h2/d?${q}`);
    assert.match(problem ?? "", /target_session_attrs must be one of primary, read-write/, q);
    assert.ok(!problem!.includes(SECRET) && !problem!.includes("secx"), problem);
  }
});
