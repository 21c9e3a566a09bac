/**
 * Comparing a presented bearer token with the configured one without leaking either through
 * timing: the status API, the demo's drill server and its simulated venues all use this.
 *
 * @example
 * ```ts
 * import { bearerMatches, sameSecret } from "./same_secret.ts";
 * console.log(await sameSecret("a-token", "a-token"), await bearerMatches("Bearer x", "y"));
 * // true false
 * ```
 *
 * @module
 */

/** `a == b` in time that depends on neither's content nor length (both are hashed first). */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [x, y] = await Promise.all([
    crypto.subtle.digest("SHA-256", enc.encode(a)),
    crypto.subtle.digest("SHA-256", enc.encode(b)),
  ]);
  const xa = new Uint8Array(x);
  const ya = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < xa.length; i++) diff |= xa[i]! ^ ya[i]!;
  return diff === 0;
}

/** Whether an `Authorization` header carries `Bearer <token>` for exactly `token`. */
export async function bearerMatches(
  header: string | null | undefined,
  token: string,
): Promise<boolean> {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? "");
  return m !== null && await sameSecret(m[1]!, token);
}
