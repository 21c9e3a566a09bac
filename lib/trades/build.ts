/**
 * The trade builder: a pure function from a user's stored fills and settlements to trades. A trade
 * is what the user holds in one market (ticker) on one side, from its first fill until it is sold
 * out to zero or the market settles; a buy after a full close starts a new trade.
 *
 * Kalshi nets the two sides of a market (a position is one signed count, exchange-protocols.md
 * §B3), so a buy of the side not held first closes the held one, at that side's price in the
 * fill, and only what is left over opens a trade on the other side; the fill (and its fee, split
 * by count) belongs to both trades. A fill without an action is read as a buy of its side (the
 * current `outcome_side` names the side the fill adds to). Fills are taken in time order (at one
 * instant: buys first, then by fill id), settlements after the fills of their instant.
 *
 * Money is exact (`units.ts`): cost, proceeds, fees and realized P&L to 10^-8 dollar. Realized P&L
 * = proceeds − the first-in-first-out cost of the contracts sold − every fee paid so far
 * (entry, exit and settlement fees); the averages are rounded to 6 decimals. A settlement pays 1
 * per contract of the winning side and 0 otherwise (`yes`/`no`); another result pays its revenue.
 *
 * Bad input is rejected and returned with a reason, never applied, so no trade is corrupted: an
 * unknown market (`market.ts`), a missing, zero or negative count (or more than 2 decimals), a
 * price missing or outside 0..1, a side or action Kalshi does not have, selling more than held, a
 * fill after its market settled, a settlement that finds no position while it reports contracts
 * ("before any fill"), or whose count differs from the position, or that pays an unknown result
 * without revenue. A fill or settlement seen twice counts once (`duplicates`).
 *
 * @example
 * ```ts
 * import { buildTrades } from "./build.ts";
 * const fill = {
 *   tradeId: "f1", orderId: "o1", ticker: "KXBTCD-26JAN0112-T99999.99", side: "yes",
 *   action: "buy", countFp: "2.00", yesPriceDollars: "0.56", noPriceDollars: "0.44",
 *   feeCostDollars: "0.02", createdTime: "2026-01-01T00:00:00Z",
 * };
 * const { trades } = buildTrades([fill], []);
 * console.log(trades[0]?.costDollars); // "1.12"
 * ```
 *
 * @module
 */
import { type MarketOfTicker, marketOfTicker } from "./market.ts";
import type {
  BuildResult,
  FillInput,
  Rejection,
  RejectReason,
  SettlementInput,
  Side,
  Trade,
} from "./types.ts";
import { div, format, min, mul, ONE, parse, share } from "./units.ts";

export type {
  BuildResult,
  FillInput,
  Rejection,
  RejectReason,
  SettlementInput,
  Side,
  Trade,
} from "./types.ts";

interface Open {
  market: MarketOfTicker;
  ticker: string;
  side: Side;
  key: string;
  openedAt: string;
  lots: { count: bigint; price: bigint }[];
  held: bigint;
  bought: bigint;
  closed: bigint;
  cost: bigint;
  proceeds: bigint;
  matchedCost: bigint;
  fees: bigint;
  orderIds: string[];
  fillIds: string[];
}

type Event =
  | { at: number; order: number; fill: FillInput; settlement?: undefined }
  | { at: number; order: number; settlement: SettlementInput; fill?: undefined };

const other = (s: Side): Side => (s === "yes" ? "no" : "yes");

/** Epoch ms of `iso`; an unreadable time sorts first (and is then refused). */
const timeOf = (iso: string) => {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : Number.MIN_SAFE_INTEGER;
};

function sortEvents(fills: readonly FillInput[], settlements: readonly SettlementInput[]) {
  const events: Event[] = [
    ...fills.map((fill) => ({
      at: timeOf(fill.createdTime),
      order: fill.action?.toLowerCase() === "sell" ? 1 : 0,
      fill,
    })),
    ...settlements.map((settlement) => ({
      at: timeOf(settlement.settledTime),
      order: 2,
      settlement,
    })),
  ];
  const id = (e: Event) => e.fill?.tradeId ?? e.settlement!.ticker;
  return events.sort((a, b) =>
    (a.at - b.at) || (a.order - b.order) || (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0)
  );
}

/** A fill read into units, or the reason it is refused. */
function readFill(f: FillInput) {
  const side = f.side?.toLowerCase();
  if (side !== "yes" && side !== "no") return "bad_side" as const;
  const action = f.action === null ? "buy" : f.action.toLowerCase();
  if (action !== "buy" && action !== "sell") return "bad_action" as const;
  if (!Number.isFinite(Date.parse(f.createdTime))) return "bad_time" as const;
  const count = parse(f.countFp, 2);
  if (count === null || count <= 0n) return "bad_count" as const;
  let yes = parse(f.yesPriceDollars, 6);
  let no = parse(f.noPriceDollars, 6);
  if (yes === null && no !== null) yes = ONE - no;
  if (no === null && yes !== null) no = ONE - yes;
  if (yes === null || no === null || yes < 0n || yes > ONE || no < 0n || no > ONE) {
    return "bad_price" as const;
  }
  const fee = f.feeCostDollars === null ? 0n : parse(f.feeCostDollars);
  if (fee === null || fee < 0n) return "bad_price" as const;
  return { side: side as Side, action, count, price: { yes, no }, fee };
}

function finish(o: Open, status: Trade["status"], closedAt: string | null, result: string | null) {
  const pnl = o.proceeds - o.matchedCost - o.fees;
  return {
    key: o.key,
    ticker: o.ticker,
    eventTicker: o.market.eventTicker,
    symbol: o.market.symbol,
    strike: o.market.strike,
    side: o.side,
    status,
    openedAt: o.openedAt,
    closedAt,
    contracts: format(o.bought),
    contractsClosed: format(o.closed),
    contractsOpen: format(o.held),
    costDollars: format(o.cost),
    proceedsDollars: format(o.proceeds),
    openCostDollars: format(o.cost - o.matchedCost),
    buyPriceDollars: format(div(o.cost, o.bought)),
    sellPriceDollars: o.closed > 0n ? format(div(o.proceeds, o.closed)) : null,
    feesDollars: format(o.fees),
    pnlDollars: format(pnl),
    winLoss: status === "open" ? null : pnl > 0n ? "W" : pnl < 0n ? "L" : "E",
    marketResult: result,
    orderIds: o.orderIds,
    fillIds: o.fillIds,
  } satisfies Trade;
}

/** Adds `fill` to `o`'s ids (once each). */
function touch(o: Open, fill: FillInput): void {
  if (!o.fillIds.includes(fill.tradeId)) o.fillIds.push(fill.tradeId);
  if (fill.orderId !== null && !o.orderIds.includes(fill.orderId)) o.orderIds.push(fill.orderId);
}

/** Closes `n` contracts of `o` at `price` each (first in, first out). */
function exit(o: Open, n: bigint, price: bigint): void {
  let left = n;
  while (left > 0n) {
    const lot = o.lots[0]!;
    const take = min(lot.count, left);
    o.matchedCost += mul(take, lot.price);
    lot.count -= take;
    left -= take;
    if (lot.count === 0n) o.lots.shift();
  }
  o.held -= n;
  o.closed += n;
  o.proceeds += mul(n, price);
}

/** Builds the trades of `fills` and `settlements` (any order, any tickers). */
export function buildTrades(
  fills: readonly FillInput[],
  settlements: readonly SettlementInput[],
): BuildResult {
  const trades: Trade[] = [];
  const rejected: Rejection[] = [];
  const open = new Map<string, Open>();
  const settled = new Set<string>();
  const seen = new Set<string>();
  let duplicates = 0;
  const reject = (kind: Rejection["kind"], ref: string, ticker: string, reason: RejectReason) =>
    void rejected.push({ kind, ref, ticker, reason });

  for (const e of sortEvents(fills, settlements)) {
    if (e.fill) {
      const f = e.fill;
      if (seen.has(`f:${f.tradeId}`)) {
        duplicates++;
        continue;
      }
      seen.add(`f:${f.tradeId}`);
      const market = marketOfTicker(f.ticker);
      if (!market) {
        reject("fill", f.tradeId, f.ticker, "unknown_market");
        continue;
      }
      const r = readFill(f);
      if (typeof r === "string") {
        reject("fill", f.tradeId, f.ticker, r);
        continue;
      }
      if (settled.has(f.ticker)) {
        reject("fill", f.tradeId, f.ticker, "fill_after_settlement");
        continue;
      }
      const held = open.get(f.ticker);
      if (r.action === "sell") {
        if (!held || held.side !== r.side || held.held < r.count) {
          reject("fill", f.tradeId, f.ticker, "oversell");
          continue;
        }
        exit(held, r.count, r.price[r.side]);
        held.fees += r.fee;
        touch(held, f);
        if (held.held === 0n) {
          trades.push(finish(held, "closed", f.createdTime, null));
          open.delete(f.ticker);
        }
        continue;
      }
      let count = r.count;
      let fee = r.fee;
      if (held && held.side !== r.side) {
        // Netting: the buy first closes the other side, at that side's price.
        const closing = min(count, held.held);
        const closingFee = share(r.fee, closing, r.count);
        exit(held, closing, r.price[held.side]);
        held.fees += closingFee;
        touch(held, f);
        count -= closing;
        fee -= closingFee;
        if (held.held === 0n) {
          trades.push(finish(held, "closed", f.createdTime, null));
          open.delete(f.ticker);
        }
        if (count === 0n) continue;
      }
      let o = open.get(f.ticker);
      if (!o) {
        o = {
          market,
          ticker: f.ticker,
          side: r.side,
          key: `${f.ticker}:${r.side}:${f.tradeId}`,
          openedAt: f.createdTime,
          lots: [],
          held: 0n,
          bought: 0n,
          closed: 0n,
          cost: 0n,
          proceeds: 0n,
          matchedCost: 0n,
          fees: 0n,
          orderIds: [],
          fillIds: [],
        };
        open.set(f.ticker, o);
      }
      const price = r.price[r.side];
      o.lots.push({ count, price });
      o.held += count;
      o.bought += count;
      o.cost += mul(count, price);
      o.fees += fee;
      touch(o, f);
      continue;
    }
    const s = e.settlement;
    const ref = `${s.ticker} at ${s.settledTime}`;
    if (seen.has(`s:${ref}`)) {
      duplicates++;
      continue;
    }
    seen.add(`s:${ref}`);
    const reason = settle(s, open.get(s.ticker), trades);
    if (reason) {
      reject("settlement", ref, s.ticker, reason);
      continue;
    }
    open.delete(s.ticker);
    settled.add(s.ticker);
  }
  for (const o of open.values()) trades.push(finish(o, "open", null, null));
  trades.sort((a, b) =>
    Date.parse(a.openedAt) - Date.parse(b.openedAt) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
  return { trades, rejected, duplicates };
}

/** Applies settlement `s` to the position `o` (pushing the settled trade), or says why not. */
function settle(
  s: SettlementInput,
  o: Open | undefined,
  trades: Trade[],
): RejectReason | null {
  if (!Number.isFinite(Date.parse(s.settledTime))) return "bad_time";
  const counts = { yes: parse(s.yesCountFp, 2), no: parse(s.noCountFp, 2) };
  if (
    (s.yesCountFp !== null && counts.yes === null) || (s.noCountFp !== null && counts.no === null)
  ) return "bad_count";
  const fee = s.feeCostDollars === null ? 0n : parse(s.feeCostDollars);
  if (fee === null || fee < 0n) return "bad_price";
  if (!o) {
    // Nothing held: a record of a market traded and closed before, unless it claims contracts.
    return (counts.yes ?? 0n) > 0n || (counts.no ?? 0n) > 0n ? "settlement_without_position" : null;
  }
  const mine = counts[o.side];
  const theirs = counts[other(o.side)];
  if ((mine !== null && mine !== o.held) || (theirs ?? 0n) !== 0n) {
    return "settlement_count_mismatch";
  }
  const result = s.marketResult?.toLowerCase() ?? null;
  let paid: bigint;
  if (result === "yes" || result === "no") {
    paid = result === o.side ? mul(o.held, ONE) : 0n;
  } else {
    const revenue = parse(s.revenueDollars);
    if (revenue === null || revenue < 0n) return "unknown_result";
    paid = revenue;
  }
  const n = o.held;
  exit(o, n, 0n);
  o.proceeds += paid;
  o.fees += fee;
  trades.push(finish(o, "settled", s.settledTime, s.marketResult));
  return null;
}
