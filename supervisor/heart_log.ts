/**
 * The heart's logger: the same lines as `lib/log.ts` writes through LogTape (JSON lines, or text
 * in a terminal; the same console streams; secrets redacted by field name and by pattern), without
 * loading LogTape. The heart only spawns, pings and owns the embedded server, and each npm package
 * it loads stays in its memory for the life of the process: LogTape with its redaction costs the
 * heart about 7 MiB RSS (measured with `bench/supervisor.ts`), a seventh of its budget. Only what
 * the heart logs is supported: a message template with `{name}` placeholders and a flat record of
 * plain values (`supervisor/heart_log_test.ts` holds the two formats to LogTape's, line for line).
 *
 * @example
 * ```ts
 * import { heartLogger } from "./heart_log.ts";
 * const log = heartLogger({ format: "json", level: "info" });
 * log.info("Supervisor process started (pid {pid}, port {port})", { pid: 42, port: 7070 });
 * ```
 *
 * @module
 */
import { redactText, SECRET_FIELDS } from "../lib/redact.ts";

/** LogTape's levels, lowest first. */
const LEVELS = ["trace", "debug", "info", "warning", "error", "fatal"] as const;
/** A log level (LogTape's names). */
export type HeartLogLevel = typeof LEVELS[number];

/** What the heart (and the embedded database it starts) logs through. */
export interface HeartLog {
  debug(message: string, props?: Record<string, unknown>): void;
  info(message: string, props?: Record<string, unknown>): void;
  warn(message: string, props?: Record<string, unknown>): void;
  error(message: string, props?: Record<string, unknown>): void;
  fatal(message: string, props?: Record<string, unknown>): void;
  /** The logger of a subcategory (`recio.heart.sd_notify`). */
  getChild(subcategory: string): HeartLog;
}

/** Options of {@linkcode heartLogger}, as `lib/log.ts`'s `setupLogging` takes them. */
export interface HeartLogOptions {
  format: "auto" | "json" | "text";
  level: HeartLogLevel;
  /** Where lines go, per console method (default: the console, as LogTape's console sink). */
  write?: (method: "debug" | "info" | "warn" | "error", line: string) => void;
  /** The clock of the timestamps (default `Date.now`). */
  now?: () => number;
}

const ABBR = {
  trace: "TRC",
  debug: "DBG",
  info: "INF",
  warning: "WRN",
  error: "ERR",
  fatal: "FTL",
};
const METHOD = {
  trace: "debug",
  debug: "debug",
  info: "info",
  warning: "warn",
  error: "error",
  fatal: "error",
} as const;

const secret = (field: string) => SECRET_FIELDS.some((p) => p.test(field));

/** A copy without the secret-named fields, at any depth of plain objects (as `redactByField`). */
function withoutSecrets(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (secret(k)) continue;
    const plain = typeof v === "object" && v !== null && !Array.isArray(v) &&
      Object.getPrototypeOf(v) === Object.prototype;
    out[k] = plain ? withoutSecrets(v as Record<string, unknown>) : v;
  }
  return out;
}

/** The template split as LogTape splits it: text, value, text, … (a secret field's value empty). */
function parts(template: string, props: Record<string, unknown>): unknown[] {
  const out: unknown[] = [];
  let text = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === "{" && template[i + 1] === "{") {
      text += "{";
      i++;
    } else if (c === "}" && template[i + 1] === "}") {
      text += "}";
      i++;
    } else if (c === "{") {
      const end = template.indexOf("}", i);
      if (end < 0) {
        text += template.slice(i);
        break;
      }
      const name = template.slice(i + 1, end);
      out.push(text, secret(name.trim()) ? "" : props[name.trim()]); // as redactByField renders it
      text = "";
      i = end;
    } else {
      text += c;
    }
  }
  out.push(text);
  return out;
}

function jsonValue(v: unknown): string {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
    return JSON.stringify(v);
  }
  return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? x.toString() : x) ?? "undefined";
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

function textTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.` +
    `${pad(d.getUTCMilliseconds(), 3)} +00:00`;
}

/** One line in LogTape's default JSON-lines shape. */
export function jsonLine(
  at: number,
  level: HeartLogLevel,
  category: readonly string[],
  template: string,
  props: Record<string, unknown>,
): string {
  const p = parts(template, props);
  const message = p.map((x, i) => (i % 2 === 0 ? x as string : jsonValue(x))).join("");
  const head = `{"@timestamp":${JSON.stringify(new Date(at).toISOString())},"level":` +
    JSON.stringify(level === "warning" ? "WARN" : level.toUpperCase());
  const line = `${head},"message":${JSON.stringify(message)},"logger":` +
    `${JSON.stringify(category.join("."))},"properties":${JSON.stringify(withoutSecrets(props))}}`;
  return redactText(
    line.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
  );
}

/** One line in LogTape's default text shape (`2026-01-02 03:04:05.678 +00:00 [INF] a·b: …`). */
export function textLine(
  at: number,
  level: HeartLogLevel,
  category: readonly string[],
  template: string,
  props: Record<string, unknown>,
): string {
  const p = parts(template, props);
  const inspect = (v: unknown) =>
    Deno.inspect(v, { strAbbreviateSize: Infinity, iterableLimit: Infinity });
  const message = p.map((x, i) => (i % 2 === 0 ? x as string : inspect(x))).join("");
  return redactText(`${textTimestamp(at)} [${ABBR[level]}] ${category.join("·")}: ${message}`);
}

const encoder = new TextEncoder();

/**
 * Writes a line where LogTape's console sink would (`console.info`/`debug` to stdout,
 * `warn`/`error` to stderr), straight to the stream: `console` would run Deno's formatting code
 * over a string it prints as is.
 */
function writeLine(method: "debug" | "info" | "warn" | "error", line: string): void {
  const out = method === "warn" || method === "error" ? Deno.stderr : Deno.stdout;
  try {
    const bytes = encoder.encode(`${line}\n`);
    for (let at = 0; at < bytes.length;) at += out.writeSync(bytes.subarray(at));
  } catch { /* a closed stream: nowhere to say it */ }
}

/** A logger under `recio.<category>` that writes what LogTape configured by `setupLogging` would. */
export function heartLogger(options: HeartLogOptions, category = ["heart"]): HeartLog {
  const json = options.format === "json" ||
    (options.format === "auto" && !Deno.stderr.isTerminal());
  const lowest = LEVELS.indexOf(options.level);
  const now = options.now ?? Date.now;
  const write = options.write ?? writeLine;
  const cat = ["recio", ...category];
  const emit = (level: HeartLogLevel) => (message: string, props: Record<string, unknown> = {}) => {
    if (LEVELS.indexOf(level) < lowest) return;
    const line = (json ? jsonLine : textLine)(now(), level, cat, message, props);
    write(METHOD[level], line);
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warning"),
    error: emit("error"),
    fatal: emit("fatal"),
    getChild: (sub) => heartLogger(options, [...category, sub]),
  };
}
