/**
 * The store of one user's live trades (`<user>.trades` and `active_trades` rows with source
 * `live`, and `trade_rejections`; migration 0102): it rebuilds the trades of some markets, or of
 * all, from the stored fills and settlements ({@linkcode buildTrades}), reads their context at
 * entry, and refreshes the open ones. Shared by the account sync (live, as the user's role) and
 * `deno task trades:rebuild`; legacy rows are never read or written.
 *
 * - `rebuild(tickers)` runs in one transaction: the lease fence first (when leased), then a lock
 *   per user (`pg_advisory_xact_lock`), so a sync and a rebuild of one user never interleave; it
 *   reads the markets' fills and settlements, upserts each trade by `trade_key` (a row that did
 *   not change is not written: a fill arriving twice changes nothing) and deletes the live trades
 *   of those markets the build no longer has (a late fill can change where a trade starts). The
 *   rejections of those markets are replaced the same way; it returns the new ones, so each is
 *   counted once. Reading and writing in one transaction makes a crash anywhere harmless: the
 *   next rebuild of the market converges.
 * - `fillContext(at)`: the context at entry (price, momentum, deltas, volatility, the model's
 *   probability and edge) of trades that have none yet for their `opened_at`, once `at` is
 *   `CONTEXT_DELAY_MS` past their open and close (the market data of that moment is written by
 *   then), through the definer functions of 0102.
 * - `refreshActive(at)`: one `active_trades` row per open live trade with the market now; rows of
 *   trades no longer open are deleted.
 *
 * Writes prove the lease grant (`lib/fence.ts`) as the account store's do; a stale grant is
 * refused with `RF001` and nothing is written. Times come from the caller's clock, never `now()`.
 *
 * @module
 */
import type { Sql, TransactionSql } from "../db.ts";
import { fence, type LeaseGrant, requireGrant } from "../fence.ts";
import { buildTrades, type FillInput, type Rejection, type SettlementInput } from "./build.ts";

/** How long after a trade's open (and close) its context is read. */
export const CONTEXT_DELAY_MS = 5_000;
/** Trades whose context one `fillContext` call reads at most. */
const CONTEXT_BATCH = 500;
/** Rows per upsert statement (one JSON parameter each). */
const BATCH = 2_000;

/** What one rebuild did. */
export interface RebuildResult {
  markets: number;
  trades: number;
  open: number;
  /** Trades inserted or changed. */
  written: number;
  /** Live trades deleted (no longer in the build). */
  deleted: number;
  /** Rejections not stored before (to count). */
  newRejections: Rejection[];
  /** Rejections in the rebuilt markets now. */
  rejections: number;
  duplicates: number;
}

/** The trade store of one user. */
export interface TradeStore {
  readonly user: string;
  /** Rebuilds the trades of `tickers` (or of every market of the user: "all"). */
  rebuild(tickers: readonly string[] | "all"): Promise<RebuildResult>;
  /** Reads the context at entry of the trades due at `atMs`; returns how many. */
  fillContext(atMs: number): Promise<number>;
  /** Refreshes `active_trades` at `atMs`; returns the open trades. */
  refreshActive(atMs: number): Promise<number>;
  /** Forgets every live trade's context, so `fillContext` reads it again; returns how many. */
  clearContext(): Promise<number>;
}

/** Options of {@linkcode createTradeStore}. */
export interface TradeStoreOptions {
  /** The writer's lease (`ctx.lease`): every write proves its current grant. */
  lease?: { readonly current: LeaseGrant | null | undefined };
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** Creates the trade store of `user` (a `user_NNNN` schema). */
export function createTradeStore(
  sql: Sql,
  user: string,
  options: TradeStoreOptions = {},
): TradeStore {
  if (!/^user_[0-9]{4}$/.test(user)) {
    throw new RangeError(`Cannot use trades of schema "${user}": expected a name like user_0001`);
  }
  const t = (name: string) => sql(`${user}.${name}`);
  const grant = () => requireGrant(options.lease?.current);
  const begin = <T>(fn: (tx: TransactionSql) => Promise<T>) =>
    sql.begin(async (tx) => {
      await fence(tx, grant());
      return await fn(tx as unknown as TransactionSql);
    }) as Promise<T>;

  async function read(tx: TransactionSql, tickers: readonly string[] | "all") {
    const all = tickers === "all";
    const list = all ? [] : [...tickers];
    const fills = await tx<FillRow[]>`select trade_id, order_id, ticker, side, action,
        count_fp::text, yes_price_dollars::text, no_price_dollars::text, fee_cost_dollars::text,
        created_time
      from ${t("fills")} where ${all ? tx`true` : tx`ticker = any(${list}::text[])`}`;
    const settlements = await tx<SettlementRow[]>`select ticker, settled_time, market_result,
        yes_count_fp::text, no_count_fp::text, revenue_dollars::text, fee_cost_dollars::text
      from ${t("settlements")} where ${all ? tx`true` : tx`ticker = any(${list}::text[])`}`;
    const f: FillInput[] = fills.map((r) => ({
      tradeId: r.trade_id,
      orderId: r.order_id,
      ticker: r.ticker ?? "",
      side: r.side,
      action: r.action,
      countFp: r.count_fp,
      yesPriceDollars: r.yes_price_dollars,
      noPriceDollars: r.no_price_dollars,
      feeCostDollars: r.fee_cost_dollars,
      createdTime: iso(r.created_time) ?? "",
    }));
    const s: SettlementInput[] = settlements.map((r) => ({
      ticker: r.ticker,
      settledTime: r.settled_time.toISOString(),
      marketResult: r.market_result,
      yesCountFp: r.yes_count_fp,
      noCountFp: r.no_count_fp,
      revenueDollars: r.revenue_dollars,
      feeCostDollars: r.fee_cost_dollars,
    }));
    const markets = new Set([...f.map((x) => x.ticker), ...s.map((x) => x.ticker)]);
    return { fills: f, settlements: s, markets, list: all ? null : list };
  }

  async function rebuild(tickers: readonly string[] | "all"): Promise<RebuildResult> {
    if (tickers !== "all" && tickers.length === 0) {
      return {
        markets: 0,
        trades: 0,
        open: 0,
        written: 0,
        deleted: 0,
        newRejections: [],
        rejections: 0,
        duplicates: 0,
      };
    }
    return await begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext(${`trades:${user}`}))`;
      const input = await read(tx, tickers);
      const built = buildTrades(input.fills, input.settlements);
      const rows = built.trades.map(tradeRow);
      let written = 0;
      for (let i = 0; i < rows.length; i += BATCH) {
        written += await upsert(tx, rows.slice(i, i + BATCH));
      }
      const keys = rows.map((r) => r.trade_key);
      const scope = input.list === null ? tx`true` : tx`ticker = any(${input.list}::text[])`;
      const stale = tx`select id from ${t("trades")}
        where source = 'live' and ${scope} and not (trade_key = any(${keys}::text[]))`;
      await tx`delete from ${t("active_trades")} where source = 'live' and trade_id in (${stale})`;
      const deleted = (await tx`delete from ${t("trades")} where id in (${stale})`).count;
      const refs = built.rejected.map((r) => `${r.kind}:${r.ref}`);
      await tx`delete from ${t("trade_rejections")}
        where ${scope} and not ((kind || ':' || ref) = any(${refs}::text[]))`;
      const fresh = built.rejected.length === 0
        ? []
        : await tx<{ kind: string; ref: string; inserted: boolean }[]>`
        insert into ${t("trade_rejections")} (kind, ref, ticker, reason)
        select * from jsonb_to_recordset(${JSON.stringify(built.rejected)}::text::jsonb)
          as x(kind text, ref text, ticker text, reason text)
        on conflict (kind, ref) do update set reason = excluded.reason, ticker = excluded.ticker
          where ${t("trade_rejections")}.reason is distinct from excluded.reason
        returning kind, ref, (xmax = 0) as inserted`;
      const inserted = new Set(fresh.filter((r) => r.inserted).map((r) => `${r.kind}:${r.ref}`));
      return {
        markets: input.list?.length ?? input.markets.size,
        trades: rows.length,
        open: built.trades.filter((x) => x.status === "open").length,
        written,
        deleted,
        newRejections: built.rejected.filter((r) => inserted.has(`${r.kind}:${r.ref}`)),
        rejections: built.rejected.length,
        duplicates: built.duplicates,
      };
    });
  }

  async function upsert(tx: TransactionSql, rows: readonly TradeRow[]): Promise<number> {
    const r = await tx`insert into ${t("trades")} (source, trade_key, status, opened_at, closed_at,
        symbol, market, strike, side, ticker, event_ticker, position_count, contracts_closed,
        contracts_open, cost_dollars, proceeds_dollars, open_cost_dollars, buy_price_dollars,
        sell_price_dollars, fees_dollars, pnl_dollars, win_loss, market_result, order_ids,
        fill_ids)
      select 'live', trade_key, status, opened_at, closed_at, symbol, 'Kalshi', strike, side,
        ticker, event_ticker, position_count, contracts_closed, contracts_open, cost_dollars,
        proceeds_dollars, open_cost_dollars, buy_price_dollars, sell_price_dollars, fees_dollars,
        pnl_dollars, win_loss, market_result, order_ids, fill_ids
      from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as x(trade_key text,
        status text, opened_at timestamptz, closed_at timestamptz, symbol text, strike numeric,
        side text, ticker text, event_ticker text, position_count numeric,
        contracts_closed numeric, contracts_open numeric, cost_dollars numeric,
        proceeds_dollars numeric, open_cost_dollars numeric, buy_price_dollars numeric,
        sell_price_dollars numeric, fees_dollars numeric, pnl_dollars numeric, win_loss text,
        market_result text, order_ids text[], fill_ids text[])
      on conflict (trade_key) do update set status = excluded.status,
        opened_at = excluded.opened_at, closed_at = excluded.closed_at, symbol = excluded.symbol,
        strike = excluded.strike, side = excluded.side, ticker = excluded.ticker,
        event_ticker = excluded.event_ticker, position_count = excluded.position_count,
        contracts_closed = excluded.contracts_closed, contracts_open = excluded.contracts_open,
        cost_dollars = excluded.cost_dollars, proceeds_dollars = excluded.proceeds_dollars,
        open_cost_dollars = excluded.open_cost_dollars,
        buy_price_dollars = excluded.buy_price_dollars,
        sell_price_dollars = excluded.sell_price_dollars, fees_dollars = excluded.fees_dollars,
        pnl_dollars = excluded.pnl_dollars, win_loss = excluded.win_loss,
        market_result = excluded.market_result, order_ids = excluded.order_ids,
        fill_ids = excluded.fill_ids,
        -- The context is read again for a new open or close (and the edge for a new average).
        context_at = case when (${t("trades")}.opened_at, ${t("trades")}.closed_at,
            ${t("trades")}.buy_price_dollars) is not distinct from
            (excluded.opened_at, excluded.closed_at, excluded.buy_price_dollars)
          then ${t("trades")}.context_at end,
        updated_at = now()
      where (${t("trades")}.status, ${t("trades")}.opened_at, ${t("trades")}.closed_at,
          ${t("trades")}.position_count, ${t("trades")}.contracts_closed,
          ${t("trades")}.cost_dollars, ${t("trades")}.proceeds_dollars,
          ${t("trades")}.open_cost_dollars, ${t("trades")}.fees_dollars,
          ${t("trades")}.pnl_dollars, ${t("trades")}.win_loss, ${t("trades")}.market_result,
          ${t("trades")}.order_ids, ${t("trades")}.fill_ids, ${t("trades")}.strike,
          ${t("trades")}.symbol)
        is distinct from (excluded.status, excluded.opened_at, excluded.closed_at,
          excluded.position_count, excluded.contracts_closed, excluded.cost_dollars,
          excluded.proceeds_dollars, excluded.open_cost_dollars, excluded.fees_dollars,
          excluded.pnl_dollars, excluded.win_loss, excluded.market_result, excluded.order_ids,
          excluded.fill_ids, excluded.strike, excluded.symbol)`;
    return r.count;
  }

  async function fillContext(atMs: number): Promise<number> {
    const due = new Date(atMs - CONTEXT_DELAY_MS);
    return await begin(async (tx) => {
      const r = await tx`with due as (
          select id, symbol, ticker, side, opened_at, closed_at, buy_price_dollars
            from ${t("trades")}
           where source = 'live' and context_at is null and opened_at <= ${due}
             and coalesce(closed_at, opened_at) <= ${due}
           order by opened_at limit ${CONTEXT_BATCH}
             for update skip locked),
        ctx as (
          select d.id, d.opened_at, p.price, p.price_at, p.momentum, p.deltas, m.probability,
                 m.cycle_at, m.model_mode, c.price as close_price,
                 system.trade_volatility_at(d.symbol, d.opened_at) as volatility,
                 m.probability - 100 * d.buy_price_dollars as edge
            from due d
            left join lateral system.trade_price_at(d.symbol, d.opened_at) p on true
            left join lateral system.trade_model_at(d.ticker, d.side, d.opened_at) m on true
            left join lateral system.trade_price_at(d.symbol, d.closed_at) c on true)
        update ${t("trades")} x set symbol_open = ctx.price, symbol_open_at = ctx.price_at,
            momentum = ctx.momentum, deltas = ctx.deltas, volatility = ctx.volatility,
            prob = ctx.probability, prob_at = ctx.cycle_at, model_mode = ctx.model_mode,
            diff = ctx.edge, symbol_close = ctx.close_price, context_at = ctx.opened_at,
            updated_at = now()
          from ctx where x.id = ctx.id`;
      return r.count;
    });
  }

  async function refreshActive(atMs: number): Promise<number> {
    const at = new Date(atMs);
    return await begin(async (tx) => {
      const r = await tx`insert into ${t("active_trades")} (source, trade_id, opened_at,
          strike, side, buy_price_dollars, position_count, ticker, symbol, market, symbol_open,
          momentum, prob, fees_dollars, diff, status, current_symbol_price, current_close_price,
          buffer_from_strike, buffer_from_strike_pct, time_since_entry_s, ttc_seconds,
          current_probability, current_pnl_dollars, last_updated, price_at, quote_at, prob_at)
        select 'live', x.id, x.opened_at, x.strike, x.side, x.buy_price_dollars, x.contracts_open,
          x.ticker, x.symbol, x.market, x.symbol_open, x.momentum, x.prob, x.fees_dollars, x.diff,
          'open', p.price, b.bid, s.buffer, round(s.buffer / p.price * 100, 4),
          floor(extract(epoch from ${at}::timestamptz - x.opened_at))::int,
          case when q.close_time is not null
            then greatest(0, round(extract(epoch from q.close_time - ${at}::timestamptz)))::int end,
          m.probability, x.contracts_open * b.bid - x.open_cost_dollars, ${at}::timestamptz,
          p.price_at, q.observed_at, m.cycle_at
        from ${t("trades")} x
        left join lateral system.trade_price_at(x.symbol, ${at}::timestamptz) p on true
        left join lateral system.trade_market_quote(x.ticker) q on true
        left join lateral system.trade_model_at(x.ticker, x.side, ${at}::timestamptz) m on true
        cross join lateral (select case when x.side = 'yes'
            then coalesce(q.yes_bid, 1 - q.no_ask) else coalesce(q.no_bid, 1 - q.yes_ask) end
            as bid) b
        cross join lateral (select case when x.side = 'yes' then p.price - x.strike
            else x.strike - p.price end as buffer) s
        where x.source = 'live' and x.status = 'open'
        on conflict (trade_id) where source = 'live' do update set
          opened_at = excluded.opened_at, strike = excluded.strike, side = excluded.side,
          buy_price_dollars = excluded.buy_price_dollars,
          position_count = excluded.position_count, ticker = excluded.ticker,
          symbol = excluded.symbol, market = excluded.market,
          symbol_open = excluded.symbol_open, momentum = excluded.momentum, prob = excluded.prob,
          fees_dollars = excluded.fees_dollars, diff = excluded.diff,
          current_symbol_price = excluded.current_symbol_price,
          current_close_price = excluded.current_close_price,
          buffer_from_strike = excluded.buffer_from_strike,
          buffer_from_strike_pct = excluded.buffer_from_strike_pct,
          time_since_entry_s = excluded.time_since_entry_s, ttc_seconds = excluded.ttc_seconds,
          current_probability = excluded.current_probability,
          current_pnl_dollars = excluded.current_pnl_dollars,
          last_updated = excluded.last_updated, price_at = excluded.price_at,
          quote_at = excluded.quote_at, prob_at = excluded.prob_at`;
      await tx`delete from ${t("active_trades")} a where a.source = 'live' and not exists (
          select 1 from ${t("trades")} x
           where x.id = a.trade_id and x.source = 'live' and x.status = 'open')`;
      return r.count;
    });
  }

  async function clearContext(): Promise<number> {
    return await begin(async (tx) =>
      (await tx`update ${t("trades")} set context_at = null
        where source = 'live' and context_at is not null`).count
    );
  }

  return { user, rebuild, fillContext, refreshActive, clearContext };
}

interface FillRow {
  trade_id: string;
  order_id: string | null;
  ticker: string | null;
  side: string | null;
  action: string | null;
  count_fp: string | null;
  yes_price_dollars: string | null;
  no_price_dollars: string | null;
  fee_cost_dollars: string | null;
  created_time: Date | null;
}

interface SettlementRow {
  ticker: string;
  settled_time: Date;
  market_result: string | null;
  yes_count_fp: string | null;
  no_count_fp: string | null;
  revenue_dollars: string | null;
  fee_cost_dollars: string | null;
}

type TradeRow = ReturnType<typeof tradeRow>;

/** A built trade as the upsert's JSON row. */
function tradeRow(x: ReturnType<typeof buildTrades>["trades"][number]) {
  return {
    trade_key: x.key,
    status: x.status,
    opened_at: x.openedAt,
    closed_at: x.closedAt,
    symbol: x.symbol,
    strike: x.strike,
    side: x.side,
    ticker: x.ticker,
    event_ticker: x.eventTicker,
    position_count: x.contracts,
    contracts_closed: x.contractsClosed,
    contracts_open: x.contractsOpen,
    cost_dollars: x.costDollars,
    proceeds_dollars: x.proceedsDollars,
    open_cost_dollars: x.openCostDollars,
    buy_price_dollars: x.buyPriceDollars,
    sell_price_dollars: x.sellPriceDollars,
    fees_dollars: x.feesDollars,
    pnl_dollars: x.pnlDollars,
    win_loss: x.winLoss,
    market_result: x.marketResult,
    order_ids: x.orderIds,
    fill_ids: x.fillIds,
  };
}
