import assert from "node:assert/strict";
import {
  decodePem,
  derLength,
  encodePem,
  importSigningKey,
  pkcs1ToPkcs8,
  pkcs8ToPkcs1,
} from "./pem.ts";
import { createSigner, stringToSign } from "./signer.ts";
import { generateTestKeys } from "../../tests/fakes/kalshi_server.ts";

Deno.test("derLength() encodes short and long forms", () => {
  assert.deepEqual(derLength(0x7f), [0x7f]);
  assert.deepEqual(derLength(0x80), [0x81, 0x80]);
  assert.deepEqual(derLength(1190), [0x82, 0x04, 0xa6]);
});

Deno.test("pkcs1ToPkcs8() wraps what pkcs8ToPkcs1() unwraps, byte for byte", async () => {
  const { pkcs8 } = await generateTestKeys();
  const pkcs1 = pkcs8ToPkcs1(pkcs8);
  assert.equal(pkcs1[0], 0x30);
  const wrapped = pkcs1ToPkcs8(pkcs1);
  // The PKCS#1 body survives; the envelope is rsaEncryption whatever the exporter wrote.
  assert.deepEqual(pkcs8ToPkcs1(wrapped), pkcs1);
});

Deno.test("importSigningKey() accepts PKCS#8 and PKCS#1 PEM and both verify", async () => {
  const { publicKey, pkcs8 } = await generateTestKeys();
  const pems = [
    encodePem("PRIVATE KEY", pkcs8),
    encodePem("RSA PRIVATE KEY", pkcs8ToPkcs1(pkcs8)),
  ];
  for (const pem of pems) {
    const signer = await createSigner("key-id", pem);
    const h = await signer.headers("get", "/trade-api/v2/portfolio/orders?limit=5", 1703123456789);
    assert.equal(h["KALSHI-ACCESS-TIMESTAMP"], "1703123456789");
    const sig = Uint8Array.from(atob(h["KALSHI-ACCESS-SIGNATURE"]), (c) => c.charCodeAt(0));
    const data = new TextEncoder().encode("1703123456789GET/trade-api/v2/portfolio/orders");
    const ok = await crypto.subtle.verify(
      { name: "RSA-PSS", saltLength: 32 },
      publicKey,
      sig,
      data,
    );
    assert.equal(ok, true);
  }
});

Deno.test("importSigningKey() refuses other PEM types and bad keys without echoing them", async () => {
  const junk = encodePem("RSA PRIVATE KEY", new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07]));
  for (const pem of [junk, "not a pem", encodePem("PUBLIC KEY", new Uint8Array([1, 2, 3]))]) {
    await assert.rejects(importSigningKey(pem), (e: Error) => {
      assert.match(e.message, /^Cannot read Kalshi private key/);
      assert.ok(!e.message.includes("MAUCAQc"), "no key bytes in the message");
      return e.name === "ConfigError";
    });
  }
});

Deno.test("decodePem() reads the first block and ignores surrounding text", () => {
  const pem = `junk\n${encodePem("PRIVATE KEY", new Uint8Array([1, 2, 3]))}more`;
  const block = decodePem(pem);
  assert.equal(block.label, "PRIVATE KEY");
  assert.deepEqual([...block.der], [1, 2, 3]);
});

Deno.test("stringToSign() joins ms timestamp, upper-case method and path without query", () => {
  assert.equal(
    stringToSign(1703123456789, "get", "/trade-api/v2/portfolio/orders?limit=5"),
    "1703123456789GET/trade-api/v2/portfolio/orders",
  );
});
