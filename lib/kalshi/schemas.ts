/**
 * Zod schemas of Kalshi responses (exchange-protocols.md §B3-B4). Each accepts the current
 * fixed-point fields (`*_dollars` strings, `*_fp` counts) and the legacy ones (integer cents,
 * integer counts), and normalises to dollars and counts as decimal strings, never through float
 * rounding. A required value missing in both forms fails the parse.
 *
 * Text is judged here, at the edge, because PostgreSQL refuses a NUL or broken UTF-16 (the
 * client marks invalid UTF-8 bytes as such, `decodeUtf8`): identifiers and codes (tickers, ids,
 * statuses, sides) that are not storable as sent, or longer than {@linkcode KEY_CHARS}, fail the
 * parse with the reason (`nul_character`, `invalid_unicode`, `text_too_long`) in the issue's
 * `params.reason`; free text (titles) is cleaned and bounded; the `raw` payload kept with a row
 * is cleaned (`cleanJson`). A decimal string longer than {@linkcode DECIMAL_CHARS} fails too.
 *
 * @module
 */
import { z } from "zod";
import { cleanJson, cleanText, textProblem } from "../bad_rows.ts";
import { centsToDollars, isDecimal, numberToDecimal } from "./money.ts";

/** Most characters of an identifier or code. */
export const KEY_CHARS = 200;
/** Most characters of a title. */
export const TITLE_CHARS = 2_000;
/** Most characters of a decimal string (Kalshi's are a dozen or so). */
export const DECIMAL_CHARS = 64;
/** Most characters of a string inside a stored `raw` payload. */
const RAW_CHARS = 10_000;

/** A string refused when it holds a NUL, broken UTF-16 or more than `max` characters. */
function storableText(max: number) {
  return z.string().superRefine((value, ctx) => {
    const p = textProblem(value, max);
    if (p) {
      ctx.addIssue({ code: "custom", message: `text ${p.detail}`, params: { reason: p.reason } });
    }
  });
}
/** An identifier or code: refused, not cleaned (a changed ticker names another market). */
const Key = storableText(KEY_CHARS);
const RequiredKey = Key.pipe(z.string().min(1));
/** Free text shown to people: cleaned of a NUL and broken UTF-16, bounded. */
const Title = z.string().transform((v) => cleanText(v, TITLE_CHARS));

/** The text reason of the first issue of a failed parse, when it is one. */
export function textReason(
  error: z.ZodError,
): "nul_character" | "invalid_unicode" | "text_too_long" | null {
  for (const issue of error.issues) {
    const reason = (issue as { params?: { reason?: unknown } }).params?.reason;
    if (reason === "nul_character" || reason === "invalid_unicode" || reason === "text_too_long") {
      return reason;
    }
  }
  return null;
}

/** The `raw` payload stored with a row: its strings cleaned and bounded. */
const raw = (r: Record<string, unknown>) => cleanJson(r, RAW_CHARS);

/** A decimal amount: a decimal string as sent, or a JSON number. */
export const Decimal = z.union([
  z.string().max(DECIMAL_CHARS).refine(isDecimal, "expected a decimal string"),
  z.number().refine(Number.isFinite, "expected a finite number"),
]).transform((v) => (typeof v === "number" ? numberToDecimal(v) : v));

const Cents = z.number().int();
const Time = z.iso.datetime({ offset: true });
const opt = <T extends z.ZodType>(s: T) => s.nullish();

type Ctx = z.core.$RefinementCtx;

/** Dollars from `<name>_dollars` or legacy integer cents `<name>`; null when neither is there. */
function money(v: Record<string, unknown>, name: string): string | null {
  const d = v[`${name}_dollars`];
  if (typeof d === "string") return d;
  const c = v[name];
  return typeof c === "number" ? centsToDollars(c) : null;
}

/** A count from `<name>_fp` or the legacy integer `<name>`. */
function count(v: Record<string, unknown>, name: string): string | null {
  const fp = v[`${name}_fp`];
  if (typeof fp === "string") return fp;
  const n = v[name];
  return typeof n === "number" ? String(n) : null;
}

function need<T>(ctx: Ctx, value: T | null, what: string): value is T {
  if (value !== null) return true;
  ctx.addIssue({ code: "custom", message: `missing ${what}`, input: undefined });
  return false;
}

const dollarsField = opt(Decimal);
const centsField = opt(Cents);
/** Keys of one amount in both forms. */
const amount = (name: string) => ({ [`${name}_dollars`]: dollarsField, [name]: centsField });
const counted = (name: string) => ({ [`${name}_fp`]: dollarsField, [name]: opt(z.number()) });

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

/** `GET /portfolio/balance`. */
export const Balance = z.looseObject({
  balance: opt(Cents),
  balance_dollars: opt(Decimal),
  portfolio_value: opt(Cents),
  portfolio_value_dollars: opt(Decimal),
}).transform((v, ctx) => {
  const r = v as Record<string, unknown>;
  const balanceDollars = v.balance_dollars ?? money(r, "balance");
  if (!need(ctx, balanceDollars, "balance")) return z.NEVER;
  return {
    balanceDollars,
    portfolioValueDollars: v.portfolio_value_dollars ?? money(r, "portfolio_value"),
  };
});
export type Balance = z.output<typeof Balance>;

/** A market position, normalised. */
export interface KalshiPosition {
  ticker: string;
  positionFp: string;
  totalTradedDollars: string | null;
  marketExposureDollars: string | null;
  realizedPnlDollars: string | null;
  feesPaidDollars: string | null;
  restingOrdersCount: number | null;
  lastUpdatedTs: string | null;
  raw: Record<string, unknown>;
}

/** `MarketPosition` of `GET /portfolio/positions`. */
export const MarketPosition = z.looseObject({
  ticker: RequiredKey,
  ...counted("position"),
  ...amount("total_traded"),
  ...amount("market_exposure"),
  ...amount("realized_pnl"),
  ...amount("fees_paid"),
  resting_orders_count: opt(z.number().int()),
  last_updated_ts: opt(Time),
}).transform((v, ctx): KalshiPosition => {
  const r = v as Record<string, unknown>;
  const positionFp = count(r, "position");
  if (!need(ctx, positionFp, "position")) return z.NEVER;
  return {
    ticker: v.ticker,
    positionFp,
    totalTradedDollars: money(r, "total_traded"),
    marketExposureDollars: money(r, "market_exposure"),
    realizedPnlDollars: money(r, "realized_pnl"),
    feesPaidDollars: money(r, "fees_paid"),
    restingOrdersCount: v.resting_orders_count ?? null,
    lastUpdatedTs: v.last_updated_ts ?? null,
    raw: raw(r),
  };
});

/** An order, normalised. */
export interface KalshiOrder {
  orderId: string;
  clientOrderId: string | null;
  ticker: string;
  status: string;
  action: string | null;
  side: string | null;
  type: string | null;
  yesPriceDollars: string | null;
  noPriceDollars: string | null;
  initialCountFp: string | null;
  remainingCountFp: string | null;
  fillCountFp: string | null;
  createdTime: string | null;
  expirationTime: string | null;
  lastUpdateTime: string | null;
  raw: Record<string, unknown>;
}

/** `Order` of `GET /portfolio/orders`. */
export const Order = z.looseObject({
  order_id: RequiredKey,
  client_order_id: opt(Key),
  ticker: RequiredKey,
  status: RequiredKey,
  action: opt(Key),
  side: opt(Key),
  outcome_side: opt(Key),
  type: opt(Key),
  ...amount("yes_price"),
  ...amount("no_price"),
  ...counted("initial_count"),
  ...counted("remaining_count"),
  ...counted("fill_count"),
  created_time: opt(Time),
  expiration_time: opt(Time),
  last_update_time: opt(Time),
}).transform((v): KalshiOrder => {
  const r = v as Record<string, unknown>;
  return {
    orderId: v.order_id,
    clientOrderId: v.client_order_id ?? null,
    ticker: v.ticker,
    status: v.status,
    action: v.action ?? null,
    side: v.side ?? v.outcome_side ?? null,
    type: v.type ?? null,
    yesPriceDollars: money(r, "yes_price"),
    noPriceDollars: money(r, "no_price"),
    initialCountFp: count(r, "initial_count"),
    remainingCountFp: count(r, "remaining_count"),
    fillCountFp: count(r, "fill_count"),
    createdTime: v.created_time ?? null,
    expirationTime: v.expiration_time ?? null,
    lastUpdateTime: v.last_update_time ?? null,
    raw: raw(r),
  };
});

/** A fill, normalised. */
export interface KalshiFill {
  tradeId: string;
  orderId: string | null;
  ticker: string;
  side: string | null;
  action: string | null;
  countFp: string;
  yesPriceDollars: string | null;
  noPriceDollars: string | null;
  isTaker: boolean | null;
  feeCostDollars: string | null;
  createdTime: string;
  raw: Record<string, unknown>;
}

/** `Fill` of `GET /portfolio/fills` (also the legacy `yes_price_fixed` names and `ts`). */
export const Fill = z.looseObject({
  trade_id: opt(RequiredKey),
  fill_id: opt(RequiredKey),
  order_id: opt(Key),
  ticker: opt(RequiredKey),
  market_ticker: opt(RequiredKey),
  side: opt(Key),
  outcome_side: opt(Key),
  action: opt(Key),
  ...counted("count"),
  ...amount("yes_price"),
  ...amount("no_price"),
  yes_price_fixed: opt(Decimal),
  no_price_fixed: opt(Decimal),
  is_taker: opt(z.boolean()),
  fee_cost: opt(Decimal),
  created_time: opt(Time),
  // Epoch seconds up to the end of year 9999 (beyond, no Date can carry it).
  ts: opt(z.number().int().nonnegative().max(253_402_300_799)),
}).transform((v, ctx): KalshiFill => {
  const r = v as Record<string, unknown>;
  const tradeId = v.trade_id ?? v.fill_id ?? null;
  const ticker = v.ticker ?? v.market_ticker ?? null;
  const countFp = count(r, "count");
  const createdTime = v.created_time ??
    (v.ts !== undefined && v.ts !== null ? new Date(v.ts * 1000).toISOString() : null);
  const ok = [
    need(ctx, tradeId, "trade_id"),
    need(ctx, ticker, "ticker"),
    need(ctx, countFp, "count"),
    need(ctx, createdTime, "created_time"),
  ].every(Boolean);
  if (!ok) return z.NEVER;
  return {
    tradeId: tradeId!,
    orderId: v.order_id ?? null,
    ticker: ticker!,
    side: v.side ?? v.outcome_side ?? null,
    action: v.action ?? null,
    countFp: countFp!,
    yesPriceDollars: v.yes_price_fixed ?? money(r, "yes_price"),
    noPriceDollars: v.no_price_fixed ?? money(r, "no_price"),
    isTaker: v.is_taker ?? null,
    feeCostDollars: v.fee_cost ?? null,
    createdTime: createdTime!,
    raw: raw(r),
  };
});

/** A settlement, normalised. */
export interface KalshiSettlement {
  ticker: string;
  settledTime: string;
  marketResult: string | null;
  yesCountFp: string | null;
  yesTotalCostDollars: string | null;
  noCountFp: string | null;
  noTotalCostDollars: string | null;
  revenueDollars: string | null;
  feeCostDollars: string | null;
  raw: Record<string, unknown>;
}

/** `Settlement` of `GET /portfolio/settlements` (`revenue` stays integer cents even today). */
export const Settlement = z.looseObject({
  ticker: RequiredKey,
  settled_time: Time,
  market_result: opt(Key),
  ...counted("yes_count"),
  ...counted("no_count"),
  ...amount("yes_total_cost"),
  ...amount("no_total_cost"),
  ...amount("revenue"),
  fee_cost: opt(Decimal),
}).transform((v): KalshiSettlement => {
  const r = v as Record<string, unknown>;
  return {
    ticker: v.ticker,
    settledTime: v.settled_time,
    marketResult: v.market_result ?? null,
    yesCountFp: count(r, "yes_count"),
    yesTotalCostDollars: money(r, "yes_total_cost"),
    noCountFp: count(r, "no_count"),
    noTotalCostDollars: money(r, "no_total_cost"),
    revenueDollars: money(r, "revenue"),
    feeCostDollars: v.fee_cost ?? null,
    raw: raw(r),
  };
});

/** One page of a cursor-paginated list: the items stay unparsed, judged one by one. */
export function pageSchema(listKey: string) {
  return z.looseObject({
    [listKey]: z.array(z.unknown()).nullish(),
    // Stored as a sync cursor: refused like an identifier (but longer).
    cursor: storableText(4_000).nullish(),
  }).transform((v) => ({
    items: (v[listKey] as unknown[] | null | undefined) ?? [],
    cursor: (v.cursor as string | null | undefined) ?? "",
  }));
}

/** A WebSocket message envelope (exchange-protocols.md §B7). */
export const WsEnvelope = z.looseObject({
  type: z.string(),
  id: opt(z.number()),
  sid: opt(z.number()),
  seq: opt(z.number()),
  msg: z.unknown().optional(),
});
export type WsEnvelope = z.output<typeof WsEnvelope>;
