/**
 * `createSql({ noDelay })`: postgres.js over our own TCP_NODELAY socket still queries, streams
 * COPY, fails fast on a refused port and times out on a server that never answers.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createSql } from "../lib/db.ts";
import { createTestDb } from "./_db.ts";

Deno.test("createSql({ noDelay }) answers queries and streams COPY FROM STDIN", async () => {
  await using db = await createTestDb({ migrated: false });
  const sql = createSql(db.url, { max: 1, noDelay: true, applicationName: "recio-nodelay-test" });
  try {
    const [row] = await sql<{ app: string }[]>`select current_setting('application_name') as app`;
    assert.equal(row!.app, "recio-nodelay-test");
    await sql`create table t (a int, b text)`;
    const w = await sql`copy t from stdin`.writable();
    await new Promise<void>((resolve, reject) => {
      w.on("error", reject);
      w.on("finish", resolve);
      w.write(new TextEncoder().encode("1\tone\n2\ttwo\n"));
      w.end(new TextEncoder().encode("3\t\\N\n"));
    });
    const rows = await sql<{ a: number; b: string | null }[]>`select a, b from t order by a`;
    assert.deepEqual(rows.map((r) => [r.a, r.b]), [[1, "one"], [2, "two"], [3, null]]);
  } finally {
    await sql.end();
  }
});

Deno.test("createSql({ noDelay }) fails a query on a refused port with a connection error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const sql = createSql(`postgres://postgres@127.0.0.1:${port}/postgres`, {
    max: 1,
    noDelay: true,
    connectTimeout: 5,
  });
  try {
    await assert.rejects(sql`select 1`, (e: Error & { code?: string }) => {
      assert.equal(e.code, "ECONNREFUSED", e.message);
      return true;
    });
  } finally {
    await sql.end({ timeout: 0 });
  }
});

Deno.test("createSql({ noDelay }) times out on a server that accepts and never answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // accepts, reads nothing, says nothing
  })().catch(() => {});
  const sql = createSql(`postgres://postgres@127.0.0.1:${port}/postgres`, {
    max: 1,
    noDelay: true,
    connectTimeout: 1,
  });
  try {
    await assert.rejects(sql`select 1`, (e: Error & { code?: string }) => {
      assert.equal(e.code, "CONNECT_TIMEOUT", e.message);
      return true;
    });
  } finally {
    await sql.end({ timeout: 0 });
    listener.close();
    await accepting;
    for (const c of held) {
      try {
        c.close();
      } catch { /* closed by the client */ }
    }
  }
});
