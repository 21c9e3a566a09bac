/**
 * The Kalshi REST client every Kalshi actor uses: signed requests (when a signer is given),
 * per-request timeouts, a sliding-window rate limiter per budget (read/write: no one-second window
 * holds more than the configured rate, retries included), bounded retries with exponential
 * backoff and jitter on 429 (honouring `Retry-After` when sent), 5xx and network errors, and
 * cursor pagination that follows every page. 401/403 throw {@linkcode KalshiAuthError} at once
 * (never retried); a 429 that is not retried (`retryRateLimited: false`, or retries used up)
 * throws {@linkcode KalshiRateLimitError}, so a poller can slow its own loop down; a body that is
 * not JSON or does not match its schema throws an {@linkcode InputError} (`malformed_json` /
 * `schema`).
 *
 * No error message or log line carries a header value, key or signature.
 *
 * @module
 */
import type { z } from "zod";
import { type Clock, systemClock } from "../clock.ts";
import { decodeUtf8 } from "../bad_rows.ts";
import { InputError } from "../errors.ts";
import { KalshiAuthError, KalshiRateLimitError, KalshiRequestError } from "./errors.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { backoffDelay } from "../backoff.ts";
import { sleep } from "../sleep.ts";
import { pageSchema, textReason } from "./schemas.ts";
import type { KalshiSigner } from "./signer.ts";

/** Retry policy. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

/** What happened before a retry (for counters and logs). */
export interface RetryInfo {
  method: string;
  path: string;
  attempt: number;
  delayMs: number;
  /** HTTP status, or undefined after a network error or timeout. */
  status: number | undefined;
}

export interface KalshiClientOptions {
  /** REST base including `/trade-api/v2`. */
  baseUrl: string;
  /** Signs `/portfolio/*` calls (and any call with `auth: true`); none = public data only. */
  signer?: KalshiSigner | undefined;
  clock?: Clock;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  readPerSecond?: number;
  writePerSecond?: number;
  retry?: Partial<RetryPolicy>;
  /**
   * Retry a 429 inside the request (default true). A poller that owns its own backoff sets false:
   * the 429 then throws {@linkcode KalshiRateLimitError} at once, with the `Retry-After` it got.
   */
  retryRateLimited?: boolean;
  /** Waits between retries (tests may shorten them). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  onRetry?: (info: RetryInfo) => void;
  /** Called once per HTTP attempt with its status (undefined on network error). */
  onResponse?: (info: { method: string; path: string; status: number | undefined }) => void;
  fetch?: typeof fetch;
  userAgent?: string;
}

/** Query values; undefined ones are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** Sign this request (default: paths under `/portfolio`). */
  auth?: boolean;
  signal?: AbortSignal;
  /** Uses the write budget. */
  write?: boolean;
}

const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseMs: 250, maxMs: 15_000 };

/** `Retry-After` in ms (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const s = Number(value);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Exponential backoff with jitter: `base·2^(attempt-1)` capped at `max`, times 0.5…1.0. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  // `random` = 1 is the full delay here (as the client has always drawn it); lib/backoff takes
  // that much off instead.
  return backoffDelay(attempt, {
    baseMs: policy.baseMs,
    maxMs: policy.maxMs,
    jitter: 0.5,
    mode: "down",
  }, () => 1 - random());
}

/** The Kalshi REST client. */
export class KalshiClient {
  readonly baseUrl: string;
  readonly #base: URL;
  readonly #signer: KalshiSigner | undefined;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #read: RateLimiter;
  readonly #write: RateLimiter;
  readonly #retry: RetryPolicy;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #options: KalshiClientOptions;
  readonly #fetch: typeof fetch;

  constructor(options: KalshiClientOptions) {
    this.#options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#base = new URL(this.baseUrl);
    this.#signer = options.signer;
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#read = new RateLimiter(options.readPerSecond ?? 20);
    this.#write = new RateLimiter(options.writePerSecond ?? 10);
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#sleep = options.sleep ?? ((ms, signal) => sleep(ms, { signal }));
    this.#random = options.random ?? Math.random;
    this.#fetch = options.fetch ?? fetch;
  }

  /** True when requests can be signed. */
  get authenticated(): boolean {
    return this.#signer !== undefined;
  }

  /** The URL of `path` (relative to the base) with `query`. */
  url(path: string, query: Query = {}): URL {
    const url = new URL(this.baseUrl + (path.startsWith("/") ? path : `/${path}`));
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url;
  }

  /** GET `path` and parse the JSON body with `schema`. */
  async get<S extends z.ZodType>(
    path: string,
    schema: S,
    options: RequestOptions = {},
  ): Promise<z.output<S>> {
    const body = await this.request("GET", path, options);
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first ? `${first.path.join(".") || "body"}: ${first.message}` : "invalid";
      throw new InputError(
        textReason(parsed.error) ?? "schema",
        `Cannot read Kalshi GET ${path}: ${where}`,
      );
    }
    return parsed.data;
  }

  /**
   * Follows every page of a cursor-paginated list, yielding each page's raw items and the cursor
   * that leads to the next page (`""` on the last). Refuses a cursor that repeats (a loop).
   */
  async *pages(
    path: string,
    listKey: string,
    options: RequestOptions & { cursor?: string; limit?: number } = {},
  ): AsyncGenerator<{ items: unknown[]; cursor: string }> {
    const schema = pageSchema(listKey);
    const seen = new Set<string>();
    let cursor = options.cursor ?? "";
    for (;;) {
      const query = { ...options.query, limit: options.limit ?? 1000, cursor: cursor || undefined };
      const page = await this.get(path, schema, { ...options, query });
      yield page;
      if (!page.cursor) return;
      if (seen.has(page.cursor)) {
        throw new InputError("cursor_loop", `Cannot page Kalshi GET ${path}: the cursor repeats`);
      }
      seen.add(page.cursor);
      cursor = page.cursor;
    }
  }

  /** One request with rate limiting, signing, timeout and retries; resolves to the JSON body. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const url = this.url(path, options.query);
    const sign = options.auth ?? path.startsWith("/portfolio");
    if (sign && !this.#signer) {
      throw new KalshiAuthError(0, `Cannot call Kalshi ${method} ${path}: no credentials`);
    }
    const bucket = options.write ? this.#write : this.#read;
    let lastStatus: number | undefined;
    let lastWhy = "";
    for (let attempt = 1;; attempt++) {
      await bucket.take(options.signal);
      const headers: Record<string, string> = {
        accept: "application/json",
        "user-agent": this.#options.userAgent ?? "recio-runtime/0.1",
      };
      if (sign) {
        Object.assign(
          headers,
          await this.#signer!.headers(method, url.pathname, this.#clock.now()),
        );
      }
      const timeout = AbortSignal.timeout(this.#timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      let response: Response | undefined;
      let retryAfter: number | undefined;
      try {
        response = await this.#fetch(url, { method, headers, signal });
      } catch (cause) {
        if (options.signal?.aborted) throw options.signal.reason;
        lastStatus = undefined;
        lastWhy = timeout.aborted ? `timed out after ${this.#timeoutMs} ms` : "network error";
        this.#options.onResponse?.({ method, path, status: undefined });
        if (attempt >= this.#retry.maxAttempts) {
          throw new KalshiRequestError(
            undefined,
            `Cannot call Kalshi ${method} ${path}: ${lastWhy} (${attempt} attempts)`,
            { cause: cause instanceof Error ? new Error(cause.message) : undefined },
          );
        }
      }
      if (response) {
        this.#options.onResponse?.({ method, path, status: response.status });
        lastStatus = response.status;
        if (response.ok) {
          let text: string;
          try {
            // Invalid UTF-8 becomes unpaired surrogates, not U+FFFD: the schemas refuse exactly
            // the values that were not valid text instead of storing a guess.
            text = decodeUtf8(new Uint8Array(await response.arrayBuffer()));
          } catch {
            // The body stopped half-way (timeout, reset): retry like a network error.
            lastWhy = "body not received";
            if (attempt >= this.#retry.maxAttempts) {
              throw new KalshiRequestError(
                response.status,
                `Cannot call Kalshi ${method} ${path}: ${lastWhy} (${attempt} attempts)`,
              );
            }
            await this.#wait(method, path, attempt, undefined, response.status, options.signal);
            continue;
          }
          try {
            return JSON.parse(text);
          } catch {
            throw new InputError(
              "malformed_json",
              `Cannot read Kalshi ${method} ${path}: body is not JSON`,
            );
          }
        }
        await response.body?.cancel().catch(() => {});
        if (response.status === 401 || response.status === 403) {
          throw new KalshiAuthError(
            response.status,
            `Cannot call Kalshi ${method} ${path}: authentication refused (${response.status})`,
          );
        }
        const retriable = response.status === 429 || response.status >= 500;
        lastWhy = `HTTP ${response.status}`;
        if (response.status === 429) {
          retryAfter = parseRetryAfter(response.headers.get("retry-after"), this.#clock.now());
          if (this.#options.retryRateLimited === false || attempt >= this.#retry.maxAttempts) {
            throw new KalshiRateLimitError(
              `Cannot call Kalshi ${method} ${path}: rate limited (HTTP 429, ${attempt} attempt${
                attempt === 1 ? "" : "s"
              })`,
              retryAfter,
            );
          }
        }
        if (!retriable || attempt >= this.#retry.maxAttempts) {
          throw new KalshiRequestError(
            response.status,
            `Cannot call Kalshi ${method} ${path}: ${lastWhy} (${attempt} attempt${
              attempt === 1 ? "" : "s"
            })`,
          );
        }
      }
      await this.#wait(method, path, attempt, retryAfter, lastStatus, options.signal);
    }
  }

  async #wait(
    method: string,
    path: string,
    attempt: number,
    retryAfter: number | undefined,
    status: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const delayMs = Math.min(
      retryAfter ?? backoffMs(attempt, this.#retry, this.#random),
      Math.max(this.#retry.maxMs, 60_000),
    );
    this.#options.onRetry?.({ method, path, attempt, delayMs, status });
    await this.#sleep(delayMs, signal);
  }
}
