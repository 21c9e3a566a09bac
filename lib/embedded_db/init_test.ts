import assert from "node:assert/strict";
import { mayInitialise, newPassword } from "./init.ts";

Deno.test("mayInitialise() allows an empty dir, a lone server log and a cut-short cluster, nothing else", () => {
  assert.equal(mayInitialise([]), true);
  assert.equal(mayInitialise(["server.log"]), true);
  assert.equal(mayInitialise(["global", "pg_wal"]), true);
  assert.equal(mayInitialise(["base"]), true);
  assert.equal(mayInitialise(["postgresql.conf", "server.log"]), true);
  assert.equal(mayInitialise(["notes.txt"]), false);
  assert.equal(mayInitialise(["server.log", "notes.txt"]), false);
});

Deno.test("newPassword() gives 48 hex characters, different each time", () => {
  const a = newPassword();
  assert.match(a, /^[0-9a-f]{48}$/);
  assert.notEqual(newPassword(), a);
});
