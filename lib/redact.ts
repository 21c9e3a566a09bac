/**
 * What a secret looks like, in one place and without LogTape: the field names whose values are
 * always replaced, and the patterns replaced wherever they appear in a message (connection-string
 * passwords, PEM keys, bearer tokens). `lib/log.ts` builds its redacting sinks from these; the
 * heart's own logger (`supervisor/heart_log.ts`) uses them too, so the heart process loads no
 * npm package to log.
 *
 * @example
 * ```ts
 * import { redactText } from "./redact.ts";
 * console.log(redactText("postgres://app:hunter2@db/app")); // postgres://app:[REDACTED]@db/app
 * ```
 *
 * @module
 */

/** Field names whose values are always replaced by `[REDACTED]`. */
export const SECRET_FIELDS: RegExp[] = [
  /pass(word)?/i,
  /secret/i,
  /token/i,
  /private[-_]?key/i,
  /api[-_]?key/i,
  /authorization/i,
  /signature/i,
  /database_?url/i,
  /^key$/i,
];

/** Patterns that are secrets wherever they appear in a message. */
export const SECRET_PATTERNS: { pattern: RegExp; replacement: (m: string) => string }[] = [
  {
    // Any `user:password@` shape, in a URL of any scheme or none, well formed or not: the
    // password runs to the last `@` of the word, since a careless one may hold `@`, `:` or `/`.
    pattern: /([^\s:/@"'<>`]+):(?!\/\/)[^\s"'<>`]*@/g,
    replacement: (m: string) => `${m.slice(0, m.indexOf(":"))}:[REDACTED]@`,
  },
  {
    pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
    replacement: () => "[REDACTED PRIVATE KEY]",
  },
  { pattern: /Bearer\s+[A-Za-z0-9._~+/=-]+/g, replacement: () => "Bearer [REDACTED]" },
];

/** Removes secrets from any text (used for error messages that leave the process). */
export function redactText(text: string): string {
  let out = text;
  for (const { pattern, replacement } of SECRET_PATTERNS) {
    out = out.replace(pattern, replacement);
  }
  return out;
}
