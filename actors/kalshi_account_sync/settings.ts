/**
 * Settings of `kalshi_account_sync` and the health it reports when a sync fails (see `mod.ts`).
 *
 * @module
 */
import {
  KalshiAuthError,
  KalshiRateLimitError,
  KalshiRequestError,
} from "../../lib/kalshi/errors.ts";
import type { Condition } from "../../lib/kalshi/health.ts";
import { type ActorArgs, parseActorArgs } from "../../schema/actor_args.ts";

/**
 * Settings of the actor: its args (`schema/actor_args.ts`), defaults filled in. Never the key
 * itself: its file's path.
 */
export type AccountSyncSettings = ActorArgs<"kalshi_account_sync">;

/** Validates the actor's args. */
export function resolveArgs(args: Record<string, unknown>): AccountSyncSettings {
  return parseActorArgs("kalshi_account_sync", args);
}

/** The reason shown while Kalshi refuses the key. */
export function authReason(status: number): string {
  return `kalshi authentication refused (${status || 401})`;
}
/** The reason shown without credentials. */
export const NO_CREDENTIALS = "no Kalshi credentials configured";
/** The reason shown while Kalshi answers 429 after the client's retries. */
export const RATE_LIMITED = "kalshi rate limited (HTTP 429)";
/** Longest wait between syncs while rate limited (a `Retry-After` may ask for more). */
export const RATE_LIMIT_BACKOFF_MAX_MS = 300_000;

/**
 * The health a failed sync shows: refused key, rate limited, unreachable (network, timeout, 5xx
 * after retries), or `undefined` for a failure that says nothing about Kalshi (a bad body).
 */
export function syncFailureCondition(error: unknown): Condition | undefined {
  if (error instanceof KalshiAuthError) {
    return { key: "auth", reason: authReason(error.status) };
  }
  if (error instanceof KalshiRateLimitError) {
    return { key: "rate_limited", reason: RATE_LIMITED };
  }
  if (error instanceof KalshiRequestError) {
    return {
      key: "unreachable",
      reason: `kalshi unreachable: ${error.message}`,
    };
  }
  return undefined;
}
