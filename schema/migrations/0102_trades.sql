-- Trades built live from the account (issue 16): the account sync turns each user's stored fills
-- and settlements into <user>.trades (lib/trades/build.ts) and keeps <user>.active_trades for the
-- open ones, with the market and the model at entry.
--
-- <user>.trades gains `source`: 'legacy' for the rows the legacy import wrote (its inserts do not
-- name the column, so the default marks them, and every row existing now is one of them), 'live'
-- for the rows the account sync writes; the sync touches only 'live' rows. A live trade's natural
-- key is `trade_key` (<ticker>:<side>:<first fill id>), unique, so an upsert by it is idempotent.
-- Money is dollars, counts contracts: `position_count` contracts bought, `contracts_closed` sold
-- or settled, `contracts_open` still held; `cost_dollars` paid, `proceeds_dollars` received
-- (sales and settlement payouts), `open_cost_dollars` the first-in-first-out cost of what is still
-- held; `buy_price_dollars`/`sell_price_dollars` the averages; `pnl_dollars` realized (proceeds −
-- cost of what was sold − fees); `win_loss` W, L or E (even) once closed. Context at entry, from
-- the market data at `opened_at`: `symbol_open` (the price row at or before it, at
-- `symbol_open_at`), `momentum`, `deltas` (percent, as the price log), `volatility` (annualised
-- realized volatility over the 30 minutes before, the closed-form model's formula), `prob` (the
-- model's percent chance that the trade's side wins, from the strike-table history row of the
-- ticker at or before `opened_at`, at `prob_at`, of `model_mode`) and `diff` (the edge in
-- percentage points: prob − 100 × buy_price_dollars, as the legacy trades kept it);
-- `symbol_close` is the price at `closed_at`. `context_at` is the opened_at the context was read
-- for (null: not read yet; the sync reads it once the market data of the moment is written).
--
-- <user>.active_trades gains `source` the same way; the sync keeps one 'live' row per open live
-- trade (unique on trade_id), refreshed every second: `position_count` the contracts held,
-- `current_symbol_price`, `current_close_price` (the bid for the trade's side, dollars),
-- `buffer_from_strike` (dollars in the side's favour: price − strike for YES, strike − price for
-- NO) and `buffer_from_strike_pct` (of the price), `time_since_entry_s`, `ttc_seconds`,
-- `current_probability` (the model's percent for the side), `current_pnl_dollars` (unrealized:
-- contracts held × bid − their cost).
--
-- <user>.trade_rejections keeps the fills and settlements the builder refused, with the reason.
--
-- The account sync logs in as <user>_rw, which reads no live_data: four SECURITY DEFINER
-- functions give it exactly the market data a trade needs (granted to every user role, now and
-- later, through system.create_user_schema, as 0080 and 0091 do).

-- The newest price row of `p_symbol` at or before `p_at`, no older than `p_max_age_s`.
create function system.trade_price_at(p_symbol text, p_at timestamptz, p_max_age_s int default 120)
returns table (price_at timestamptz, price numeric, momentum numeric, deltas jsonb)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
  log regclass;
begin
  if p_symbol is null or p_symbol !~ '^[A-Za-z]{2,10}$' or p_at is null then
    return;
  end if;
  log := to_regclass(format('live_data.%I', lower(p_symbol) || '_price_log'));
  if log is null then
    return;
  end if;
  return query execute format($q$
    select l."timestamp", l.price, l.momentum, jsonb_build_object('delta_1m', l.delta_1m,
        'delta_2m', l.delta_2m, 'delta_3m', l.delta_3m, 'delta_4m', l.delta_4m,
        'delta_15m', l.delta_15m, 'delta_30m', l.delta_30m)
      from %s l
     where l."timestamp" <= $1 and l."timestamp" > $1 - make_interval(secs => $2)
     order by l."timestamp" desc limit 1$q$, log) using p_at, p_max_age_s;
end $$;

-- Annualised realized volatility of `p_symbol` over the `p_window_s` seconds up to `p_at`, as the
-- strike coordinator's closed-form model computes it (actors/strike_coordinator/closed_form.ts):
-- √(Σ r² / Σ Δt) over consecutive log returns of the price log (per √second, gaps counted by
-- their length), times √(365 days in seconds); rounded to 6 decimals; null under two rows.
create function system.trade_volatility_at(
  p_symbol text, p_at timestamptz, p_window_s int default 1800
) returns numeric
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
  log regclass;
  v numeric;
begin
  if p_symbol is null or p_symbol !~ '^[A-Za-z]{2,10}$' or p_at is null then
    return null;
  end if;
  log := to_regclass(format('live_data.%I', lower(p_symbol) || '_price_log'));
  if log is null then
    return null;
  end if;
  execute format($q$
    select round((sqrt(sum(r * r) / nullif(sum(dt), 0)) * sqrt(31536000.0))::numeric, 6)
      from (select ln(price::float8 / lag(price::float8) over w) as r,
                   extract(epoch from "timestamp" - lag("timestamp") over w)::float8 as dt
              from %s
             where "timestamp" >= $1 - make_interval(secs => $2) and "timestamp" <= $1
            window w as (order by "timestamp")) x
     where r is not null$q$, log) into v using p_at, p_window_s;
  return v;
end $$;

-- The model's percent chance that side `p_side` of market `p_ticker` wins, from the newest
-- strike-table history row of the ticker at or before `p_at` (no older than `p_max_age_s`);
-- history.probability is the percent chance of YES (0100).
create function system.trade_model_at(
  p_ticker text, p_side text, p_at timestamptz, p_max_age_s int default 60
) returns table (cycle_at timestamptz, probability numeric, model_mode text)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
begin
  if p_side is null or lower(p_side) not in ('yes', 'no') then
    return;
  end if;
  return query
    select h.cycle_at,
           case when lower(p_side) = 'yes' then h.probability else 100 - h.probability end,
           h.model_mode
      from live_data.strike_table_history h
     where h.ticker = p_ticker and h.cycle_at <= p_at
       and h.cycle_at > p_at - make_interval(secs => p_max_age_s)
     order by h.cycle_at desc limit 1;
end $$;

-- The current quote of market `p_ticker` (dollars) as the market watchdog last stored it.
create function system.trade_market_quote(p_ticker text)
returns table (yes_bid numeric, no_bid numeric, yes_ask numeric, no_ask numeric, status text,
  close_time timestamptz, observed_at timestamptz)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
begin
  return query
    select m.yes_bid, m.no_bid, m.yes_ask, m.no_ask, m.status, m.close_time, m.observed_at
      from live_data.kalshi_market_state m where m.market_ticker = p_ticker;
end $$;

revoke all on function system.trade_price_at(text, timestamptz, int) from public;
revoke all on function system.trade_volatility_at(text, timestamptz, int) from public;
revoke all on function system.trade_model_at(text, text, timestamptz, int) from public;
revoke all on function system.trade_market_quote(text) from public;

-- The trade columns, keys and indexes of one user's schema (idempotent).
create function system.create_user_trades(user_name text) returns void
language plpgsql as $$
begin
  if user_name is null or user_name !~ '^user_[0-9]{4}$' then
    raise exception 'Cannot add trades to schema "%": expected a name like user_0001', user_name
      using errcode = 'invalid_parameter_value';
  end if;
  -- ALTER TABLE locks the table even when every column exists: only when one is missing (this
  -- runs at every start, for each user).
  if (select count(*) from pg_attribute
       where attrelid = format('%I.trades', user_name)::regclass and not attisdropped
         and attname in ('source', 'trade_key', 'event_ticker', 'contracts_closed',
           'contracts_open', 'cost_dollars', 'proceeds_dollars', 'open_cost_dollars',
           'market_result', 'order_ids', 'fill_ids', 'deltas', 'symbol_open_at', 'prob_at',
           'model_mode', 'context_at')) < 16 then
    execute format($t$alter table %I.trades
      add column if not exists source text not null default 'legacy',
      add column if not exists trade_key text,
      add column if not exists event_ticker text,
      add column if not exists contracts_closed numeric,
      add column if not exists contracts_open numeric,
      add column if not exists cost_dollars numeric,
      add column if not exists proceeds_dollars numeric,
      add column if not exists open_cost_dollars numeric,
      add column if not exists market_result text,
      add column if not exists order_ids text[],
      add column if not exists fill_ids text[],
      add column if not exists deltas jsonb,
      add column if not exists symbol_open_at timestamptz,
      add column if not exists prob_at timestamptz,
      add column if not exists model_mode text,
      add column if not exists context_at timestamptz$t$, user_name);
  end if;
  if (select count(*) from pg_attribute
       where attrelid = format('%I.active_trades', user_name)::regclass and not attisdropped
         and attname in ('source', 'buffer_from_strike_pct', 'price_at', 'quote_at', 'prob_at'))
     < 5 then
    execute format($t$alter table %I.active_trades
      add column if not exists source text not null default 'legacy',
      add column if not exists buffer_from_strike_pct numeric,
      add column if not exists price_at timestamptz,
      add column if not exists quote_at timestamptz,
      add column if not exists prob_at timestamptz$t$, user_name);
  end if;
  if not exists (select 1 from pg_constraint
                  where conname = 'trades_source_check'
                    and conrelid = format('%I.trades', user_name)::regclass) then
    execute format($t$alter table %I.trades add constraint trades_source_check
      check (source in ('legacy', 'live'))$t$, user_name);
  end if;
  if not exists (select 1 from pg_constraint
                  where conname = 'active_trades_source_check'
                    and conrelid = format('%I.active_trades', user_name)::regclass) then
    execute format($t$alter table %I.active_trades add constraint active_trades_source_check
      check (source in ('legacy', 'live'))$t$, user_name);
  end if;
  execute format('create unique index if not exists trades_trade_key on %I.trades (trade_key)',
    user_name);
  execute format($t$create index if not exists trades_live_ticker on %I.trades (ticker)
    where source = 'live'$t$, user_name);
  execute format($t$create index if not exists trades_live_open on %I.trades (id)
    where source = 'live' and status = 'open'$t$, user_name);
  execute format($t$create index if not exists trades_live_context on %I.trades (opened_at)
    where source = 'live' and context_at is null$t$, user_name);
  execute format($t$create unique index if not exists active_trades_live_trade
    on %I.active_trades (trade_id) where source = 'live'$t$, user_name);
  -- Fills and settlements the builder refused (lib/trades/build.ts), as they stand after the last
  -- build of their market: the sync counts each one once, when it first appears here.
  execute format($t$create table if not exists %I.trade_rejections (
    kind text not null,
    ref text not null,
    ticker text,
    reason text not null,
    first_seen_at timestamptz not null default now(),
    primary key (kind, ref))$t$, user_name);
  execute format(
    'create index if not exists trade_rejections_ticker on %I.trade_rejections (ticker)',
    user_name);
  execute format('grant select, insert, update, delete on %I.trade_rejections to %I',
    user_name, user_name || '_rw');
  -- The builder reads one market's fills.
  execute format('create index if not exists fills_ticker on %I.fills (ticker, created_time)',
    user_name);
end $$;

-- system.create_user_schema keeps its signature (lib/db_users.ts and the messages name it): 0091's
-- body, plus the trade columns and the four functions above.
create or replace function system.create_user_schema(user_name text) returns void
language plpgsql as $$
declare
  role_name text := user_name || '_rw';
begin
  perform system.create_user_tables(user_name); -- validates the name
  perform system.create_user_trades(user_name);
  execute format('grant usage on schema system to %I', role_name);
  execute format('grant execute on function system.start_job_run(text, timestamptz) to %I',
    role_name);
  execute format(
    'grant execute on function system.finish_job_run(bigint, timestamptz, text, text, jsonb) to %I',
    role_name);
  execute format(
    'grant execute on function system.begin_job_run(bigint, text, text, timestamptz) to %I',
    role_name);
  execute format('grant execute on function '
    'system.end_job_run(bigint, text, text, int, timestamptz, text, text, jsonb) to %I', role_name);
  execute format('grant execute on function system.trade_price_at(text, timestamptz, int) to %I',
    role_name);
  execute format(
    'grant execute on function system.trade_volatility_at(text, timestamptz, int) to %I',
    role_name);
  execute format(
    'grant execute on function system.trade_model_at(text, text, timestamptz, int) to %I',
    role_name);
  execute format('grant execute on function system.trade_market_quote(text) to %I', role_name);
end $$;

select system.create_user_schema(nspname::text)
  from pg_namespace where nspname ~ '^user_[0-9]{4}$';
