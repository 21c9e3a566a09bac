import assert from "node:assert/strict";
import {
  cleanJson,
  cleanText,
  decodeUtf8,
  isDataError,
  rejectionReason,
  textProblem,
  writeSplitting,
} from "./bad_rows.ts";

const dataError = (code = "22021") => Object.assign(new Error("invalid byte sequence"), { code });

Deno.test("cleanText() removes NUL, repairs unpaired surrogates and bounds the length", () => {
  assert.equal(cleanText("a\u0000b\u0000"), "ab");
  assert.equal(cleanText("x\uD800y"), "x\uFFFDy");
  assert.equal(cleanText("ok"), "ok");
  assert.equal(cleanText("abcdef", 3), "abc…");
  // A pair is never cut in half.
  assert.equal(cleanText("ab\u{1F600}cd", 3), "ab…");
  assert.ok(new TextEncoder().encode(cleanText("\uDFFF")).length > 0);
});

Deno.test("cleanJson() cleans every string and key and nulls non-finite numbers", () => {
  assert.deepEqual(
    cleanJson({ "k\u0000": ["v\u0000", NaN, 1.5, { d: "\uD800" }], n: Infinity, b: true }),
    { k: ["v", null, 1.5, { d: "\uFFFD" }], n: null, b: true },
  );
});

Deno.test("isDataError() tells data errors from connection errors", () => {
  for (const code of ["22021", "22P05", "22003", "22001", "23505", "23502", "42804"]) {
    assert.equal(isDataError(dataError(code)), true, code);
  }
  for (const e of [new Error("ECONNREFUSED"), { code: "ECONNRESET" }, { code: "08006" }, null]) {
    assert.equal(isDataError(e), false, JSON.stringify(e));
  }
  assert.equal(isDataError({ code: "57P01" }), false, "admin shutdown");
  assert.match(rejectionReason(dataError()), /^22021 invalid byte sequence/);
});

Deno.test("writeSplitting() writes every good row, rejects each bad one alone, keeps order", async () => {
  const rows = Array.from({ length: 37 }, (_, i) => i);
  const bad = new Set([0, 5, 6, 36]);
  const written: number[] = [];
  const rejected: number[] = [];
  const done: number[] = [];
  const n = await writeSplitting(rows, {
    write: (part) => {
      if (part.some((r) => bad.has(r))) return Promise.reject(dataError());
      written.push(...part);
      return Promise.resolve();
    },
    onReject: (r) => rejected.push(r),
    onDone: (part) => done.push(...part),
  });
  assert.equal(n, 4);
  assert.deepEqual(rejected, [0, 5, 6, 36]);
  assert.deepEqual(written, rows.filter((r) => !bad.has(r)));
  assert.deepEqual(done, rows, "every row handled exactly once, in order");
});

Deno.test("writeSplitting() rethrows a connection error; rows handled before it are reported", async () => {
  const done: number[] = [];
  let calls = 0;
  await assert.rejects(
    writeSplitting([1, 2, 3, 4], {
      write: (part) => {
        calls++;
        if (calls === 1) return Promise.reject(dataError()); // [1..4] refused for its data
        if (part.includes(3)) return Promise.reject(new Error("connection ended"));
        return Promise.resolve();
      },
      onReject: () => assert.fail("nothing is rejected for a lost connection"),
      onDone: (part) => done.push(...part),
    }),
    /connection ended/,
  );
  assert.deepEqual(done, [1, 2], "the caller keeps 3 and 4 to retry");
});

Deno.test("cleanJson() turns a bigint, which JSON cannot carry, into its decimal text", () => {
  assert.deepEqual(cleanJson({ n: 2n ** 70n, m: [-1n] }), {
    n: "1180591620717411303424",
    m: ["-1"],
  });
});

Deno.test("textProblem() names a NUL, an unpaired surrogate and an over-long text", () => {
  assert.equal(textProblem("fine \u{1F600}"), null);
  assert.equal(textProblem("a\u0000b")?.reason, "nul_character");
  assert.equal(textProblem("a\uD800b")?.reason, "invalid_unicode");
  assert.equal(textProblem("\uDFFF")?.reason, "invalid_unicode");
  assert.equal(textProblem("abcd", 3)?.reason, "text_too_long");
  assert.equal(textProblem("abc", 3), null);
});

Deno.test("decodeUtf8() decodes valid UTF-8 and marks each invalid byte with an unpaired surrogate", () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  const enc = new TextEncoder();
  assert.equal(decodeUtf8(enc.encode("h\u00e9 \u{1F600} \uFFFD")), "h\u00e9 \u{1F600} \uFFFD");
  assert.equal(decodeUtf8(bytes(0xef, 0xbb, 0xbf, 0x61)), "a", "a leading BOM is dropped");
  // 0xC3 0x28: a lead byte without its continuation.
  assert.equal(decodeUtf8(bytes(0x61, 0xc3, 0x28, 0x62)), "a\uDFFF(b");
  assert.equal(decodeUtf8(bytes(0xc3)), "\uDFFF");
  // An encoded surrogate (ED A0 80) and an overlong NUL (C0 80) are not valid UTF-8 either.
  assert.equal(decodeUtf8(bytes(0xed, 0xa0, 0x80)), "\uDFFF\uDFFF\uDFFF");
  assert.equal(decodeUtf8(bytes(0xc0, 0x80)), "\uDFFF\uDFFF");
  // A U+FEFF after an invalid byte is text, not a BOM.
  assert.equal(decodeUtf8(bytes(0xff, 0xef, 0xbb, 0xbf)), "\uDFFF\uFEFF");
  assert.equal(textProblem(decodeUtf8(bytes(0x22, 0xc3, 0x28, 0x22)))?.reason, "invalid_unicode");
});
