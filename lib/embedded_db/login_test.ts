import assert from "node:assert/strict";
import { checkPassword, LoginRefused, scramFinal } from "./login.ts";

const TEST_DB = new URL(
  Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres",
);

Deno.test("scramFinal() computes RFC 7677's SCRAM-SHA-256 example: the client proof and the server signature", async () => {
  const r = await scramFinal(
    "pencil",
    "n=user,r=rOprNGfwEbeRWgbNEkqO",
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  );
  assert.equal(
    r.clientFinal,
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  assert.equal(r.serverSignature, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
});

Deno.test("scramFinal() refuses a server nonce that does not extend the client's, or no salt or count", async () => {
  for (
    const bad of ["r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "r=abcX,i=4096", "r=abcX,s=AA=="]
  ) {
    await assert.rejects(scramFinal("pw", "n=,r=abc", bad), /unexpected SCRAM server message/);
  }
});

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
  await assert.rejects(checkPassword({ ...target, timeoutMs: 100 }), /no answer within 100 ms/);
  const closing = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closer = (async () => {
    for await (const c of closing) c.close();
  })();
  await assert.rejects(
    checkPassword({ ...target, port: (closing.addr as Deno.NetAddr).port }),
    /closed the connection/,
  );
  for (const c of held) c.close();
  silent.close();
  closing.close();
  await Promise.allSettled([accepting, closer]);
});
