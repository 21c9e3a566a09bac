/**
 * Zod schemas of Kalshi markets and events (`GET /markets`, `GET /events/{ticker}`), normalised
 * as `schemas.ts` describes.
 *
 * @module
 */
import { z } from "zod";
import {
  amount,
  count,
  counted,
  Decimal,
  Key,
  money,
  need,
  opt,
  RequiredKey,
  Time,
  Title,
} from "./_schema_fields.ts";

/** A market, normalised. */
export interface KalshiMarket {
  ticker: string;
  eventTicker: string;
  status: string;
  strikeType: string | null;
  floorStrike: string | null;
  capStrike: string | null;
  yesBid: string;
  yesAsk: string;
  noBid: string;
  noAsk: string;
  lastPrice: string;
  volume: string | null;
  volume24h: string | null;
  openInterest: string | null;
  liquidity: string | null;
  closeTime: string;
  expectedExpirationTime: string | null;
  title: string | null;
  subtitle: string | null;
}

/** `Market` (current or legacy fields). */
export const Market = z.looseObject({
  ticker: RequiredKey,
  event_ticker: RequiredKey,
  status: RequiredKey,
  strike_type: opt(Key),
  floor_strike: opt(Decimal),
  cap_strike: opt(Decimal),
  close_time: Time,
  expected_expiration_time: opt(Time),
  title: opt(Title),
  subtitle: opt(Title),
  yes_sub_title: opt(Title),
  ...amount("yes_bid"),
  ...amount("yes_ask"),
  ...amount("no_bid"),
  ...amount("no_ask"),
  ...amount("last_price"),
  ...amount("liquidity"),
  ...counted("volume"),
  ...counted("volume_24h"),
  ...counted("open_interest"),
}).transform((v, ctx): KalshiMarket => {
  const r = v as Record<string, unknown>;
  const yesBid = money(r, "yes_bid");
  const yesAsk = money(r, "yes_ask");
  const noBid = money(r, "no_bid");
  const noAsk = money(r, "no_ask");
  const lastPrice = money(r, "last_price");
  const ok = [
    need(ctx, yesBid, "yes_bid"),
    need(ctx, yesAsk, "yes_ask"),
    need(ctx, noBid, "no_bid"),
    need(ctx, noAsk, "no_ask"),
    need(ctx, lastPrice, "last_price"),
  ].every(Boolean);
  if (!ok) return z.NEVER;
  return {
    ticker: v.ticker,
    eventTicker: v.event_ticker,
    status: v.status,
    strikeType: v.strike_type ?? null,
    floorStrike: v.floor_strike ?? null,
    capStrike: v.cap_strike ?? null,
    yesBid: yesBid!,
    yesAsk: yesAsk!,
    noBid: noBid!,
    noAsk: noAsk!,
    lastPrice: lastPrice!,
    volume: count(r, "volume"),
    volume24h: count(r, "volume_24h"),
    openInterest: count(r, "open_interest"),
    liquidity: money(r, "liquidity"),
    closeTime: v.close_time,
    expectedExpirationTime: v.expected_expiration_time ?? null,
    title: v.title ?? null,
    subtitle: v.yes_sub_title ?? v.subtitle ?? null,
  };
});

/** `EventData` (the event without its markets). */
export const EventData = z.looseObject({
  event_ticker: RequiredKey,
  series_ticker: RequiredKey,
  title: opt(Title),
  sub_title: opt(Title),
  strike_date: opt(Time),
  markets: opt(z.array(z.unknown())),
});
export type EventData = z.output<typeof EventData>;

/** `GET /events/{ticker}`: markets stay unparsed here, so each can be judged on its own. */
export const EventResponse = z.looseObject({
  event: EventData,
  markets: opt(z.array(z.unknown())),
}).transform((v) => ({
  event: v.event,
  markets: v.event.markets ?? v.markets ?? [],
}));
export type EventResponse = z.output<typeof EventResponse>;
