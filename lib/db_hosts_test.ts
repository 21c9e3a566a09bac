/**
 * The pure parts of `db_hosts.ts`: the server messages read from a session, and the
 * `target_session_attrs` check as postgres.js makes it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { errorFields, refusedFor, ServerMessages } from "./db_hosts.ts";

const enc = new TextEncoder();

/** One server message: type, int32 length, body. */
function message(type: string, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(5 + body.length);
  m[0] = type.charCodeAt(0);
  new DataView(m.buffer).setInt32(1, 4 + body.length);
  m.set(body, 5);
  return m;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

const STREAM = concat([
  message("R", new Uint8Array(4)), // AuthenticationOk: not read
  message("S", enc.encode("in_hot_standby\0on\0")),
  message("D", new Uint8Array(70_000).fill(0x45)), // a large DataRow of 'E' bytes, skipped
  message("E", enc.encode("SERROR\0C25006\0Mcannot execute INSERT in a read-only transaction\0\0")),
  message("E", new Uint8Array(70_000).fill(1)), // too large to read: reported without a body
  message("Z", enc.encode("I")),
]);

function read(chunks: Uint8Array[]): string[] {
  const seen: string[] = [];
  const messages = new ServerMessages((type, body) => {
    const t = String.fromCharCode(type);
    if (!body) seen.push(`${t} (unread)`);
    else if (t === "E") seen.push(`E ${errorFields(body).C}`);
    else seen.push(`${t} ${new TextDecoder().decode(body).replaceAll("\0", "|")}`);
  });
  for (const c of chunks) messages.push(c);
  return seen;
}

Deno.test("ServerMessages reports ErrorResponse, ParameterStatus and ReadyForQuery whatever the chunk boundaries", () => {
  const expected = ["S in_hot_standby|on|", "E 25006", "E (unread)", "Z I"];
  assert.deepEqual(read([STREAM]), expected);
  assert.deepEqual(read([...STREAM].map((b) => Uint8Array.of(b))), expected, "byte by byte");
  for (const size of [3, 5, 7, 4096, 65_537]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.subarray(i, i + size));
    assert.deepEqual(read(chunks), expected, `chunks of ${size}`);
  }
});

Deno.test("ServerMessages stops reading at a length that is not the protocol's", () => {
  const bad = new Uint8Array([0x5a, 0, 0, 0, 2, 0x49]); // length 2 < 4
  assert.deepEqual(read([bad, message("Z", enc.encode("I"))]), []);
});

Deno.test("errorFields() reads the fields of an ErrorResponse body", () => {
  assert.deepEqual(errorFields(enc.encode("SFATAL\0C57P01\0Mterminating\0\0")), {
    S: "FATAL",
    C: "57P01",
    M: "terminating",
  });
  assert.deepEqual(errorFields(new Uint8Array(0)), {});
  assert.deepEqual(errorFields(enc.encode("Cunterminated")), {});
});

Deno.test("refusedFor() refuses a session as postgres.js's target_session_attrs check does", () => {
  const standby = { in_hot_standby: "on", default_transaction_read_only: "on" };
  const primary = { in_hot_standby: "off", default_transaction_read_only: "off" };
  const readOnlyPrimary = { in_hot_standby: "off", default_transaction_read_only: "on" };
  assert.equal(refusedFor("primary", standby), "a standby");
  assert.equal(refusedFor("primary", primary), undefined);
  assert.equal(refusedFor("primary", readOnlyPrimary), undefined);
  assert.equal(refusedFor("read-write", readOnlyPrimary), "read-only");
  assert.equal(refusedFor("read-write", primary), undefined);
  assert.equal(refusedFor("standby", primary), "not a standby");
  assert.equal(refusedFor("standby", standby), undefined);
  assert.equal(refusedFor("read-only", primary), "not read-only");
  assert.equal(refusedFor("read-only", standby), undefined);
});
