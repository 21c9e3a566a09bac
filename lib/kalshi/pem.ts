/**
 * Private keys for request signing. Kalshi issues PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`); WebCrypto
 * imports only PKCS#8, so a PKCS#1 key is wrapped in a PKCS#8 `PrivateKeyInfo` (RFC 5208):
 *
 * ```
 * SEQUENCE { INTEGER 0, SEQUENCE { OID rsaEncryption, NULL }, OCTET STRING <PKCS#1 DER> }
 * ```
 *
 * Errors never include any part of the key.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

/** `SEQUENCE { OID 1.2.840.113549.1.1.1 (rsaEncryption), NULL }`. */
const RSA_ALGORITHM = [
  0x30,
  0x0d,
  0x06,
  0x09,
  0x2a,
  0x86,
  0x48,
  0x86,
  0xf7,
  0x0d,
  0x01,
  0x01,
  0x01,
  0x05,
  0x00,
];
/** `INTEGER 0` (the PrivateKeyInfo version). */
const VERSION_0 = [0x02, 0x01, 0x00];

/** DER length octets of `n`. */
export function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** Wraps a PKCS#1 `RSAPrivateKey` DER in a PKCS#8 `PrivateKeyInfo` DER. */
export function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  const octet = [0x04, ...derLength(pkcs1.length)];
  const bodyLength = VERSION_0.length + RSA_ALGORITHM.length + octet.length + pkcs1.length;
  const head = [0x30, ...derLength(bodyLength), ...VERSION_0, ...RSA_ALGORITHM, ...octet];
  const out = new Uint8Array(head.length + pkcs1.length);
  out.set(head, 0);
  out.set(pkcs1, head.length);
  return out;
}

/** A PEM block: its label and DER bytes. */
export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Decodes the first PEM block of `text`. Throws a {@linkcode ConfigError} without key material. */
export function decodePem(text: string): PemBlock {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) throw new ConfigError("Cannot read Kalshi private key: no PEM block found");
  const body = m[2]!.replace(/\s+/g, "");
  let der: Uint8Array;
  try {
    der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  } catch {
    throw new ConfigError("Cannot read Kalshi private key: the PEM body is not base64");
  }
  return { label: m[1]!, der };
}

/** Encodes DER bytes as a PEM block with 64-character lines. */
export function encodePem(label: string, der: Uint8Array): string {
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const lines = btoa(bin).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Imports an RSA private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY` PEM) for RSA-PSS
 * SHA-256 signing. The key is not extractable.
 */
export async function importSigningKey(pem: string): Promise<CryptoKey> {
  const block = decodePem(pem);
  let pkcs8: Uint8Array;
  if (block.label === "PRIVATE KEY") pkcs8 = block.der;
  else if (block.label === "RSA PRIVATE KEY") pkcs8 = pkcs1ToPkcs8(block.der);
  else {
    throw new ConfigError(
      `Cannot read Kalshi private key: unsupported PEM type "${block.label}" (expected PRIVATE KEY or RSA PRIVATE KEY)`,
    );
  }
  try {
    return await crypto.subtle.importKey(
      "pkcs8",
      pkcs8 as BufferSource,
      { name: "RSA-PSS", hash: "SHA-256" },
      false,
      ["sign"],
    );
  } catch {
    // The cause may quote key bytes; it is dropped on purpose.
    throw new ConfigError("Cannot read Kalshi private key: not a valid RSA private key");
  }
}

/** Reads one DER element at `at`: its tag, content start and end. */
function derElement(der: Uint8Array, at: number): { tag: number; start: number; end: number } {
  const tag = der[at];
  let len = der[at + 1];
  if (tag === undefined || len === undefined) throw new ConfigError("Cannot read key: truncated");
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  if (start + len > der.length) throw new ConfigError("Cannot read key: truncated");
  return { tag, start, end: start + len };
}

/** Unwraps the PKCS#1 `RSAPrivateKey` from a PKCS#8 `PrivateKeyInfo` (the inverse of wrapping). */
export function pkcs8ToPkcs1(pkcs8: Uint8Array): Uint8Array {
  const outer = derElement(pkcs8, 0);
  const version = derElement(pkcs8, outer.start);
  const algorithm = derElement(pkcs8, version.end);
  const key = derElement(pkcs8, algorithm.end);
  if (outer.tag !== 0x30 || version.tag !== 0x02 || algorithm.tag !== 0x30 || key.tag !== 0x04) {
    throw new ConfigError("Cannot read key: not a PKCS#8 PrivateKeyInfo");
  }
  return pkcs8.slice(key.start, key.end);
}
