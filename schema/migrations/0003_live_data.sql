-- live_data: spot prices, Kalshi market state and history, strike tables.
--
-- Price logs: one row per second of exchange time per symbol (the last trade price of that
-- second), unique on "timestamp" (UTC). Deltas and momentum are percent (DESIGN.md section 3).
-- Range-partitioned by month so retention drops whole partitions; a default partition takes
-- rows of months without a partition, so no row is ever rejected.
create table if not exists live_data.btc_price_log (
  id bigint generated always as identity,
  "timestamp" timestamptz not null,
  price numeric(20, 8) not null constraint btc_price_log_price_check check (price > 0),
  momentum numeric(10, 6),
  delta_1m numeric(10, 6),
  delta_2m numeric(10, 6),
  delta_3m numeric(10, 6),
  delta_4m numeric(10, 6),
  delta_15m numeric(10, 6),
  delta_30m numeric(10, 6),
  received_at timestamptz not null default now(),
  primary key ("timestamp")
) partition by range ("timestamp");
create table if not exists live_data.btc_price_log_default
  partition of live_data.btc_price_log default;

-- Spelled out rather than LIKE: LIKE does not copy the identity of "id".
create table if not exists live_data.eth_price_log (
  id bigint generated always as identity,
  "timestamp" timestamptz not null,
  price numeric(20, 8) not null constraint eth_price_log_price_check check (price > 0),
  momentum numeric(10, 6),
  delta_1m numeric(10, 6),
  delta_2m numeric(10, 6),
  delta_3m numeric(10, 6),
  delta_4m numeric(10, 6),
  delta_15m numeric(10, 6),
  delta_30m numeric(10, 6),
  received_at timestamptz not null default now(),
  primary key ("timestamp")
) partition by range ("timestamp");
create table if not exists live_data.eth_price_log_default
  partition of live_data.eth_price_log default;

-- Kalshi: events, one row per market (upserted), and a history row when a quote changes.
-- Prices are dollars (numeric), counts are numeric (Kalshi's _fp fields may be fractional).
create table if not exists live_data.kalshi_events (
  event_ticker text primary key,
  series_ticker text,
  symbol text,
  title text,
  sub_title text,
  strike_date timestamptz,
  status text,
  raw jsonb,
  updated_at timestamptz not null default now()
);

create table if not exists live_data.kalshi_market_state (
  market_ticker text primary key,
  event_ticker text not null,
  series_ticker text,
  symbol text,
  strike_type text,
  floor_strike numeric,
  cap_strike numeric,
  status text,
  yes_bid numeric(10, 4),
  yes_ask numeric(10, 4),
  no_bid numeric(10, 4),
  no_ask numeric(10, 4),
  last_price numeric(10, 4),
  volume numeric,
  volume_24h numeric,
  open_interest numeric,
  liquidity numeric,
  close_time timestamptz,
  expected_expiration_time timestamptz,
  title text,
  subtitle text,
  observed_at timestamptz not null,
  updated_at timestamptz not null default now()
);
create index if not exists kalshi_market_state_event on live_data.kalshi_market_state (event_ticker);

create table if not exists live_data.kalshi_market_history (
  market_ticker text not null,
  event_ticker text not null,
  observed_at timestamptz not null,
  status text,
  yes_bid numeric(10, 4),
  yes_ask numeric(10, 4),
  no_bid numeric(10, 4),
  no_ask numeric(10, 4),
  last_price numeric(10, 4),
  volume numeric,
  open_interest numeric,
  primary key (market_ticker, observed_at)
) partition by range (observed_at);
create table if not exists live_data.kalshi_market_history_default
  partition of live_data.kalshi_market_history default;

-- Strike tables: rows replaced in one transaction per cycle; the header carries staleness.
create table if not exists live_data.strike_table (
  symbol text not null,
  strike numeric not null,
  buffer numeric,
  buffer_pct numeric,
  probability numeric,
  yes_ask numeric,
  no_ask numeric,
  yes_diff numeric,
  no_diff numeric,
  volume numeric,
  ticker text,
  active_side text,
  event_ticker text,
  primary key (symbol, strike)
);

create table if not exists live_data.strike_table_header (
  symbol text primary key,
  current_price numeric,
  ttc_seconds int,
  broker text,
  event_ticker text,
  market_title text,
  strike_tier numeric,
  market_status text,
  momentum numeric,
  deltas jsonb,
  model_mode text,
  stale boolean not null default false,
  stale_reason text,
  last_updated timestamptz
);

-- The current month and the three after it; the retention job keeps creating months ahead.
select system.ensure_month_partitions('live_data.btc_price_log', now(), now() + interval '3 months');
select system.ensure_month_partitions('live_data.eth_price_log', now(), now() + interval '3 months');
select system.ensure_month_partitions('live_data.kalshi_market_history', now(), now() + interval '3 months');
