import assert from "node:assert/strict";
import { bearerMatches, sameSecret } from "./same_secret.ts";

Deno.test("sameSecret() and bearerMatches() accept exactly the token", async () => {
  assert.equal(await sameSecret("abc", "abc"), true);
  assert.equal(await sameSecret("abc", "abd"), false);
  assert.equal(await sameSecret("", "abc"), false);
  const token = "a-status-token-0123";
  for (const h of [`Bearer ${token}`, `bearer ${token}`, `Bearer  ${token} `]) {
    assert.equal(await bearerMatches(h, token), true, h);
  }
  for (const h of [undefined, null, "", token, `Basic ${token}`, `Bearer ${token}x`, "Bearer "]) {
    assert.equal(await bearerMatches(h, token), false, String(h));
  }
});
