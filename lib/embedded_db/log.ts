/**
 * What the embedded server's code logs through: the three calls it makes, so a LogTape logger
 * and the heart's own logger (`supervisor/heart_log.ts`, which loads no npm package) both fit.
 *
 * @module
 */

/** A logger with a message template and its properties (LogTape's `Logger` is one). */
export interface EmbeddedLog {
  info(message: string, props?: Record<string, unknown>): void;
  warn(message: string, props?: Record<string, unknown>): void;
  error(message: string, props?: Record<string, unknown>): void;
}
