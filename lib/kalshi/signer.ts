/**
 * Kalshi request signing (exchange-protocols.md §B2): RSASSA-PSS with SHA-256, MGF1-SHA-256 and a
 * 32-byte salt over `timestampMs + METHOD + path`, where `path` includes `/trade-api/v2` and
 * excludes the query. The signer holds the key as a non-extractable `CryptoKey`; nothing it returns
 * or throws contains key material.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { importSigningKey } from "./pem.ts";

/** The three authentication headers. */
export interface KalshiAuthHeaders {
  "KALSHI-ACCESS-KEY": string;
  "KALSHI-ACCESS-TIMESTAMP": string;
  "KALSHI-ACCESS-SIGNATURE": string;
}

/** Signs requests for one API key. */
export interface KalshiSigner {
  /** Headers for `method` on `path` (query ignored) at `timestampMs`. */
  headers(method: string, path: string, timestampMs: number): Promise<KalshiAuthHeaders>;
}

/** The text Kalshi verifies: `timestamp + METHOD + path` without the query string. */
export function stringToSign(timestampMs: number, method: string, path: string): string {
  const q = path.indexOf("?");
  return `${Math.trunc(timestampMs)}${method.toUpperCase()}${q < 0 ? path : path.slice(0, q)}`;
}

/** Base64 of bytes. */
function base64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Creates a signer from a key id and the PEM text of its private key (PKCS#1 or PKCS#8). */
export async function createSigner(keyId: string, pem: string): Promise<KalshiSigner> {
  const key = await importSigningKey(pem);
  return {
    async headers(method, path, timestampMs) {
      const data = new TextEncoder().encode(stringToSign(timestampMs, method, path));
      const sig = await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, key, data);
      return {
        "KALSHI-ACCESS-KEY": keyId,
        "KALSHI-ACCESS-TIMESTAMP": String(Math.trunc(timestampMs)),
        "KALSHI-ACCESS-SIGNATURE": base64(new Uint8Array(sig)),
      };
    },
  };
}

/** Reads the key file named by `path` and creates a signer (the worker's only file read). */
export async function signerFromFile(keyId: string, path: string): Promise<KalshiSigner> {
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (cause) {
    const why = cause instanceof Deno.errors.NotFound
      ? "file not found"
      : cause instanceof Deno.errors.PermissionDenied || cause instanceof Deno.errors.NotCapable
      ? "permission denied"
      : "file not readable";
    throw new ConfigError(`Cannot read Kalshi private key file: ${why}`);
  }
  return await createSigner(keyId, pem);
}
