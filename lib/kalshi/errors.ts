/**
 * Errors of the Kalshi client. Messages name the method and path, never a key, a signature or a
 * header value.
 *
 * @module
 */

/** Kalshi refused our credentials (401/403). Never retried: waiting does not fix a key. */
export class KalshiAuthError extends Error {
  override name = "KalshiAuthError";
  /** HTTP status (401 or 403). */
  readonly status: number;
  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** A request failed for good: retries used up, or a status that retrying cannot fix. */
export class KalshiRequestError extends Error {
  override name = "KalshiRequestError";
  /** HTTP status of the last attempt; undefined when no response arrived. */
  readonly status: number | undefined;
  constructor(status: number | undefined, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/**
 * Kalshi answered 429 (too many requests). `retryAfterMs` is the wait its `Retry-After` asked for,
 * when it sent one (Kalshi documents none; proxies and the fake may).
 */
export class KalshiRateLimitError extends KalshiRequestError {
  override name = "KalshiRateLimitError";
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined, options?: ErrorOptions) {
    super(429, message, options);
    this.retryAfterMs = retryAfterMs;
  }
}
