/**
 * The price watchdog's settings: its arguments (schema/actor_args.ts) with the product and the
 * socket URL filled in.
 *
 * @module
 */
import { type ActorArgs, COINBASE_URLS, parseActorArgs } from "../../schema/actor_args.ts";

/** Resolved settings. */
export type PriceWatchdogSettings =
  & Omit<ActorArgs<"price_watchdog">, "wsUrl" | "productId">
  & {
    productId: string;
    wsUrl: string;
  };

/** Validates the actor's arguments and fills in defaults (URLs follow the feed format). */
export function resolveArgs(raw: unknown): PriceWatchdogSettings {
  const a = parseActorArgs("price_watchdog", raw);
  return {
    ...a,
    productId: a.productId ?? `${a.symbol.toUpperCase()}-USD`,
    wsUrl: a.wsUrl ?? COINBASE_URLS[a.feed],
  };
}
