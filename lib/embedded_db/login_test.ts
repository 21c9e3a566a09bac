import assert from "node:assert/strict";
import { checkPassword, LoginRefused } from "./login.ts";

const TEST_DB = new URL(
  Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres",
);

Deno.test({
  name:
    "checkPassword() logs in to the test server and is refused, with the SQLSTATE, for a database that does not exist",
  ignore: TEST_DB.hostname !== "127.0.0.1",
  fn: async () => {
    const target = {
      port: Number(TEST_DB.port || 5432),
      user: decodeURIComponent(TEST_DB.username),
      database: TEST_DB.pathname.slice(1) || "postgres",
      password: decodeURIComponent(TEST_DB.password),
    };
    await checkPassword(target);
    const e = await checkPassword({ ...target, database: `no_such_db_${crypto.randomUUID()}` })
      .then(() => undefined, (e) => e);
    assert.ok(e instanceof LoginRefused, String(e));
    assert.equal(e.code, "3D000");
    assert.match(e.message, /does not exist/);
  },
});

Deno.test("checkPassword() rejects when nothing answers within timeoutMs, and when the peer closes", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of silent) held.push(c);
  })();
  const port = (silent.addr as Deno.NetAddr).port;
  const target = { port, user: "u", database: "d", password: "p" };
  // Longer than the child takes to start: the login itself waits on the silent server.
  await assert.rejects(checkPassword({ ...target, timeoutMs: 1_500 }), /no answer within 1500 ms/);
  const closing = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closer = (async () => {
    for await (const c of closing) c.close();
  })();
  const closed = await checkPassword({ ...target, port: (closing.addr as Deno.NetAddr).port })
    .then(() => undefined, (e) => e);
  assert.ok(closed instanceof Error && !(closed instanceof LoginRefused), String(closed));
  assert.match(closed.message, /^Cannot log in: /);
  for (const c of held) c.close();
  silent.close();
  closing.close();
  await Promise.allSettled([accepting, closer]);
});
