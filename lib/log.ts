/**
 * Logging through LogTape: JSON lines in production, readable text in a terminal, secrets redacted
 * by field name and by pattern (connection-string passwords, PEM keys, bearer tokens).
 *
 * @example
 * ```ts
 * import { getLogger, setupLogging } from "./log.ts";
 * await setupLogging({ format: "text", level: "info" });
 * getLogger("supervisor").info("Started {count} children", { count: 3 });
 * ```
 *
 * @module
 */
import {
  configure,
  getConsoleSink,
  getJsonLinesFormatter,
  getLogger as ltGetLogger,
  getTextFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
  reset,
  type Sink,
} from "@logtape/logtape";
import { redactByField, redactByPattern } from "@logtape/redaction";
import { getRotatingFileSink } from "@logtape/file";
import { ensurePrivateFile, keepPrivate } from "./private_files.ts";
import { redactText, SECRET_FIELDS, SECRET_PATTERNS } from "./redact.ts";

export type { Logger };

export { redactText, SECRET_PATTERNS };

export interface LogOptions {
  format: "auto" | "json" | "text";
  level: LogLevel;
  /** Extra sinks (a file sink, a test recorder). */
  sinks?: Record<string, Sink>;
  /** Also write JSON lines to this file, rotated at `fileMaxBytes` keeping `fileMaxFiles`. */
  file?: string | undefined;
  fileMaxBytes?: number;
  fileMaxFiles?: number;
}

/**
 * A rotating JSON-lines file sink with the same redaction as the console. The file (and any
 * folder created for it) is private: 0600 in 0700 folders whatever the umask. The library opens
 * a new file after each rotation with the process umask, so every record checks the mode; a
 * stat is cheap beside the fsync each record already costs.
 */
function fileSink(path: string, maxSize: number, maxFiles: number): Sink & Disposable {
  ensurePrivateFile(path);
  const sink = getRotatingFileSink(path, {
    formatter: redactByPattern(getJsonLinesFormatter(), SECRET_PATTERNS),
    maxSize,
    maxFiles,
    bufferSize: 0, // a crash must not lose the lines that explain it
  });
  const wrapped = (record: LogRecord) => {
    sink(record);
    try {
      keepPrivate(path);
    } catch { /* rotated away this instant: the next record checks again */ }
  };
  return Object.assign(wrapped, { [Symbol.dispose]: () => sink[Symbol.dispose]() });
}

/** Configures LogTape for this process or worker; safe to call again (it resets first). */
export async function setupLogging(options: LogOptions): Promise<void> {
  const json = options.format === "json" ||
    (options.format === "auto" && !Deno.stderr.isTerminal());
  const formatter = redactByPattern(
    json ? getJsonLinesFormatter() : getTextFormatter(),
    SECRET_PATTERNS,
  );
  const console = redactByField(getConsoleSink({ formatter }), { fieldPatterns: SECRET_FIELDS });
  const sinks: Record<string, Sink> = { ...options.sinks };
  if (options.file) {
    sinks.file = fileSink(
      options.file,
      options.fileMaxBytes ?? 10 * 1024 * 1024,
      options.fileMaxFiles ?? 5,
    );
  }
  const extra = Object.fromEntries(
    Object.entries(sinks).map((
      [k, s],
    ) => [k, redactByField(s, { fieldPatterns: SECRET_FIELDS })]),
  );
  await reset();
  await configure({
    reset: true,
    sinks: { console, ...extra },
    filters: {},
    loggers: [
      {
        category: ["recio"],
        lowestLevel: options.level,
        sinks: ["console", ...Object.keys(extra)],
      },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
}

/** A logger under the `recio` category. */
export function getLogger(...category: string[]): Logger {
  return ltGetLogger(["recio", ...category]);
}

/**
 * Logs at most `perWindow` messages per key per `windowMs`, then counts what it suppressed and
 * reports the count with the next message that gets through.
 */
export class RateLimitedLog {
  #windows = new Map<string, { start: number; count: number; suppressed: number }>();
  constructor(
    readonly logger: Logger,
    readonly options: { perWindow: number; windowMs: number; now: () => number },
  ) {}

  warn(key: string, message: string, props: Record<string, unknown> = {}): void {
    const now = this.options.now();
    let w = this.#windows.get(key);
    if (!w || now - w.start >= this.options.windowMs) {
      const suppressed = w?.suppressed ?? 0;
      w = { start: now, count: 0, suppressed: 0 };
      this.#windows.set(key, w);
      if (suppressed > 0) props = { ...props, suppressed };
    }
    if (w.count < this.options.perWindow) {
      w.count++;
      this.logger.warn(message, props);
    } else {
      w.suppressed++;
    }
  }
}
