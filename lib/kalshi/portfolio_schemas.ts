/**
 * Zod schemas of the Kalshi portfolio (`GET /portfolio/balance`, `positions`, `orders`, `fills`,
 * `settlements`), normalised as `schemas.ts` describes; each row keeps its cleaned `raw` payload.
 *
 * @module
 */
import { z } from "zod";
import {
  amount,
  Cents,
  count,
  counted,
  Decimal,
  Key,
  money,
  need,
  opt,
  raw,
  RequiredKey,
  Time,
} from "./_schema_fields.ts";

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
