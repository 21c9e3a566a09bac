/**
 * Pools on a multi-host URL (`lib/db_hosts.ts`) against the test server and small fake servers
 * that speak just enough of the protocol: a standby, and a server that claims to be the primary
 * but refuses every write as read-only. With no usable host a query fails within
 * `connectTimeout` (postgres.js alone waits forever), a standby is passed over, a session that
 * turns read-only is ended so the next query reconnects elsewhere, and the COPY pool's TCP_NODELAY
 * socket takes several hosts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connectWithRetry, createSql } from "../lib/db.ts";
import { DatabaseError } from "../lib/errors.ts";
import { createTestDb } from "./_db.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** `url` with `first` (a `host:port`) put before its host, and target_session_attrs=primary. */
function withFirstHost(url: string, first: string): string {
  const u = new URL(url);
  const auth = u.username ? `${u.username}${u.password ? `:${u.password}` : ""}@` : "";
  return `postgres://${auth}${first},${u.host}${u.pathname}?target_session_attrs=primary`;
}

function msg(type: string, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(5 + body.length);
  m[0] = type.charCodeAt(0);
  new DataView(m.buffer).setInt32(1, 4 + body.length);
  m.set(body, 5);
  return m;
}

const enc = new TextEncoder();

/** An int16 and int32 writer for the fake's messages. */
function ints(...parts: [16 | 32, number][]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, [bits]) => n + bits / 8, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [bits, v] of parts) {
    if (bits === 16) view.setInt16(at, v);
    else view.setInt32(at, v);
    at += bits / 8;
  }
  return out;
}

/** RowDescription of two oid columns (`oid`, `typarray`), as postgres.js's type query expects. */
function rowDescription(): Uint8Array {
  const field = (name: string) =>
    Uint8Array.from([
      ...enc.encode(`${name}\0`),
      ...ints([32, 0], [16, 0], [32, 26], [16, 4], [32, -1], [16, 0]),
    ]);
  return msg("T", Uint8Array.from([...ints([16, 2]), ...field("oid"), ...field("typarray")]));
}

/**
 * A fake server: answers the start-up with AuthenticationOk, the given parameters and
 * ReadyForQuery, postgres.js's query of the array types with no rows, and any other statement
 * with a read-only error (25006), as a server in read-only mode would a write.
 */
function fakeServer(params: Record<string, string>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let sessions = 0;
  const hello = [
    msg("R", new Uint8Array(4)),
    ...Object.entries(params).map(([k, v]) => msg("S", enc.encode(`${k}\0${v}\0`))),
    msg("K", new Uint8Array(8)),
    msg("Z", enc.encode("I")),
  ];
  const readOnly = msg(
    "E",
    enc.encode("SERROR\0VERROR\0C25006\0Mcannot execute in a read-only transaction\0\0"),
  );
  /** The answer to one client message; `failing` skips to the next Sync after an error. */
  const answer = (type: string, body: Uint8Array, state: { failing: boolean }): Uint8Array[] => {
    if (type === "S") return (state.failing = false, [msg("Z", enc.encode("I"))]);
    if (type === "Q") return [readOnly, msg("Z", enc.encode("I"))];
    if (state.failing) return [];
    if (type === "P") {
      if (new TextDecoder().decode(body).includes("pg_catalog.pg_type")) return [msg("1", ints())];
      return (state.failing = true, [readOnly]);
    }
    if (type === "D") return [msg("t", ints([16, 0])), rowDescription()];
    if (type === "B") return [msg("2", ints())];
    if (type === "E") return [msg("C", enc.encode("SELECT 0\0"))];
    return [];
  };
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    let buf = new Uint8Array(0);
    let started = false;
    const state = { failing: false };
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(chunk);
        if (n === null) return;
        buf = Uint8Array.from([...buf, ...chunk.subarray(0, n)]);
        for (;;) {
          const head = started ? 1 : 0;
          if (buf.length < head + 4) break;
          const len = new DataView(buf.buffer, buf.byteOffset).getInt32(head);
          if (buf.length < head + len) break;
          const type = started ? String.fromCharCode(buf[0]!) : "startup";
          const body = buf.slice(head + 4, head + len);
          buf = buf.slice(head + len);
          if (type === "X") return;
          const out = type === "startup" ? hello : answer(type, body, state);
          if (type === "startup") (started = true, sessions++);
          for (const m of out) await conn.write(m);
        }
      }
    } catch {
      /* the client went away */
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) serve(conn);
  })().catch(() => {});
  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get sessions() {
      return sessions;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
    },
  };
}

const STANDBY = { in_hot_standby: "on", default_transaction_read_only: "on" };
const PRIMARY = { in_hot_standby: "off", default_transaction_read_only: "off" };

Deno.test("createSql() on a multi-host URL fails a query within connectTimeout when every host refuses, naming each", async () => {
  const [a, b] = [freePort(), freePort()];
  const sql = createSql(
    `postgres://postgres@127.0.0.1:${a},127.0.0.1:${b}/postgres?target_session_attrs=primary`,
    { max: 1, connectTimeout: 1 },
  );
  try {
    await assert.rejects(sql`select 1`, (e: Error & { code?: string }) => {
      assert.equal(e.code, "08001", e.message);
      assert.ok(e.message.includes(`127.0.0.1:${a} ECONNREFUSED`), e.message);
      assert.ok(e.message.includes(`127.0.0.1:${b} ECONNREFUSED`), e.message);
      return true;
    });
  } finally {
    await sql.end({ timeout: 0 });
  }
});

Deno.test("connectWithRetry() on a multi-host URL with no server up gives up after timeoutMs", async () => {
  const url = `postgres://postgres@127.0.0.1:${freePort()},127.0.0.1:${freePort()}/postgres`;
  await assert.rejects(
    connectWithRetry(url, { timeoutMs: 1_500, connectTimeout: 1 }),
    (e) => e instanceof DatabaseError && /after \d+ attempt\(s\)/.test(e.message),
  );
});

Deno.test("createSql({ noDelay }) on a multi-host URL skips a refused host and a standby", async () => {
  await using db = await createTestDb({ migrated: false });
  await using standby = fakeServer(STANDBY);
  const refused = `127.0.0.1:${freePort()}`;
  for (const first of [refused, standby.address]) {
    const sql = createSql(withFirstHost(db.url, first), { max: 2, noDelay: true });
    try {
      const rows = await Promise.all([1, 2, 3].map(() => sql`select current_database() as db`));
      assert.deepEqual(rows.map((r) => r[0]!.db), [db.name, db.name, db.name]);
      const w = await sql`copy (select 1) to stdout`.readable();
      for await (const _ of w) { /* drained */ }
    } finally {
      await sql.end();
    }
  }
  assert.ok(standby.sessions >= 1, "the standby was tried");
});

Deno.test("createSql() on a multi-host URL ends a session that refuses writes as read-only and reconnects elsewhere", async () => {
  await using db = await createTestDb({ migrated: false });
  await using readOnly = fakeServer(PRIMARY); // claims to be the primary, refuses every write
  const sql = createSql(withFirstHost(db.url, readOnly.address), { max: 1 });
  try {
    await assert.rejects(
      sql`insert into t values (1)`,
      (e: Error & { code?: string }) => e.code === "25006",
    );
    const [row] = await sql<{ db: string }[]>`select current_database() as db`;
    assert.equal(row!.db, db.name, "the next query went to the other host");
    assert.equal(readOnly.sessions, 1);
  } finally {
    await sql.end();
  }
});
