/**
 * The few error classes of the runtime. Each has a `name` and keeps its `cause`.
 * Messages follow one style: `Cannot <verb> <what>: <why>`; they never carry a secret.
 *
 * @module
 */

/** A configuration value is missing or invalid. Names the variable and what is expected. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The database could not be reached, set up or migrated. */
export class DatabaseError extends Error {
  override name = "DatabaseError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The database refused us for good: a wrong user or password, or no such database. Waiting does
 * not fix it, so it is a configuration error (exit 2), not an outage (exit 3).
 */
export class DatabaseRefusedError extends DatabaseError {
  override name = "DatabaseRefusedError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A supervision rule was broken: bad child spec, illegal transition, unknown child. */
export class SupervisorError extends Error {
  override name = "SupervisorError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Outside input (frame, body, row, request) failed validation. Counted, never written. */
export class InputError extends Error {
  override name = "InputError";
  /** Short machine-readable reason used as a counter label. */
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** Plain, serialisable form of an error (for messages and event rows). */
export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string | undefined;
}

/** Turns anything thrown into an {@linkcode ErrorInfo}. */
export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  if (error && typeof error === "object" && "message" in error) {
    return { name: "Error", message: String((error as { message: unknown }).message) };
  }
  return { name: "Error", message: error === undefined ? "undefined was thrown" : String(error) };
}
