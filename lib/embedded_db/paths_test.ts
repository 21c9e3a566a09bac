import assert from "node:assert/strict";
import * as node from "node:path";
import { dirname, resolve } from "./paths.ts";

const PATHS = [
  "/",
  "//",
  "/a",
  "/a/",
  "/a/b",
  "/a//b///",
  "a",
  "a/b",
  "a/b/",
  "./a",
  "../a",
  "/a/../b",
  "/a/./b/..",
  "/../..",
  ".",
  "..",
  "",
  "data/pg",
];

Deno.test("resolve() answers as node:path's, for one and for several parts", () => {
  for (const p of PATHS) assert.equal(resolve(p), node.resolve(p), JSON.stringify(p));
  const pairs: string[][] = [["/srv", "pg"], ["/srv/bin", "..", "lib"], ["a", "/abs", "b"], [
    "x",
    "",
    "y",
  ], ["/a", "b", "../../.."]];
  for (const parts of pairs) {
    assert.equal(resolve(...parts), node.resolve(...parts), JSON.stringify(parts));
  }
});

Deno.test("dirname() answers as node:path's", () => {
  for (const p of PATHS.filter(Boolean)) {
    assert.equal(dirname(p), node.dirname(p), JSON.stringify(p));
  }
});
