-- Per-user schemas: system.create_user_schema('user_NNNN') creates the schema, a NOLOGIN role
-- <user>_rw that can use and write only that schema, and the account tables. Money is dollars
-- (numeric), counts are numeric (_fp), column names say the unit. Natural keys make every
-- write idempotent: fills by trade_id, orders by order_id, settlements by (ticker, settled_time).
-- The role can use and read/write only its own schema (grants plus default privileges for tables
-- added later); nothing is granted to PUBLIC. Idempotent: later migrations may call it again.
create or replace function system.create_user_schema(user_name text) returns void
language plpgsql as $$
declare
  role_name text := user_name || '_rw';
begin
  if user_name is null or user_name !~ '^user_[0-9]{4}$' then
    raise exception 'Cannot create user schema "%": expected a name like user_0001', user_name
      using errcode = 'invalid_parameter_value';
  end if;
  execute format('create schema if not exists %I', user_name);
  -- Roles belong to the whole server, not to one database: another database on the same
  -- server (a test, a second instance) may create this one at the same moment.
  if not exists (select 1 from pg_roles where rolname = role_name) then
    begin
      execute format('create role %I nologin', role_name);
    exception when duplicate_object or unique_violation then
      null;
    end;
  end if;

  execute format($t$create table if not exists %I.account_balance (
    id bigint generated always as identity primary key,
    balance_dollars numeric(18, 4) not null,
    portfolio_value_dollars numeric(18, 4),
    observed_at timestamptz not null)$t$, user_name);
  execute format($t$create table if not exists %I.positions (
    ticker text primary key,
    position_fp numeric,
    total_traded_dollars numeric,
    market_exposure_dollars numeric,
    realized_pnl_dollars numeric,
    fees_paid_dollars numeric,
    resting_orders_count int,
    last_updated_ts timestamptz,
    raw jsonb,
    synced_at timestamptz not null default now())$t$, user_name);
  execute format($t$create table if not exists %I.orders (
    order_id text primary key,
    client_order_id text,
    ticker text,
    status text,
    action text,
    side text,
    type text,
    yes_price_dollars numeric,
    no_price_dollars numeric,
    initial_count_fp numeric,
    remaining_count_fp numeric,
    fill_count_fp numeric,
    created_time timestamptz,
    expiration_time timestamptz,
    last_update_time timestamptz,
    raw jsonb,
    synced_at timestamptz not null default now())$t$, user_name);
  execute format($t$create table if not exists %I.fills (
    trade_id text primary key,
    order_id text,
    ticker text,
    side text,
    action text,
    count_fp numeric,
    yes_price_dollars numeric,
    no_price_dollars numeric,
    is_taker boolean,
    fee_cost_dollars numeric,
    created_time timestamptz,
    raw jsonb)$t$, user_name);
  execute format($t$create table if not exists %I.settlements (
    ticker text not null,
    settled_time timestamptz not null,
    market_result text,
    yes_count_fp numeric,
    yes_total_cost_dollars numeric,
    no_count_fp numeric,
    no_total_cost_dollars numeric,
    revenue_dollars numeric,
    fee_cost_dollars numeric,
    raw jsonb,
    primary key (ticker, settled_time))$t$, user_name);
  execute format($t$create table if not exists %I.trades (
    id bigint generated always as identity primary key,
    status text not null,
    opened_at timestamptz,
    symbol text,
    market text,
    trade_strategy text,
    contract text,
    strike numeric,
    side text,
    prob numeric,
    diff numeric,
    buy_price_dollars numeric,
    position_count numeric,
    sell_price_dollars numeric,
    closed_at timestamptz,
    fees_dollars numeric,
    pnl_dollars numeric,
    symbol_open numeric,
    symbol_close numeric,
    momentum numeric,
    volatility numeric,
    win_loss text,
    ticker text,
    ticket_id text unique,
    market_id text,
    momentum_delta numeric,
    entry_method text,
    close_method text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now())$t$, user_name);
  execute format($t$create table if not exists %I.active_trades (
    id bigint generated always as identity primary key,
    trade_id bigint references %I.trades (id),
    ticket_id text,
    opened_at timestamptz,
    strike numeric,
    side text,
    buy_price_dollars numeric,
    position_count numeric,
    contract text,
    ticker text,
    symbol text,
    market text,
    trade_strategy text,
    symbol_open numeric,
    momentum numeric,
    prob numeric,
    fees_dollars numeric,
    diff numeric,
    status text,
    current_symbol_price numeric,
    current_close_price numeric,
    buffer_from_strike numeric,
    time_since_entry_s int,
    ttc_seconds int,
    current_probability numeric,
    current_pnl_dollars numeric,
    last_updated timestamptz)$t$, user_name, user_name);
  execute format($t$create table if not exists %I.sync_cursors (
    stream text primary key,
    cursor text,
    last_time timestamptz,
    updated_at timestamptz not null default now())$t$, user_name);

  -- The account sync reads newest-first by time.
  execute format('create index if not exists account_balance_observed_at on %I.account_balance (observed_at desc)', user_name);
  execute format('create index if not exists fills_created_time on %I.fills (created_time desc)', user_name);
  execute format('create index if not exists orders_created_time on %I.orders (created_time desc)', user_name);

  execute format('revoke all on schema %I from public', user_name);
  execute format('grant usage on schema %I to %I', user_name, role_name);
  execute format('grant select, insert, update, delete on all tables in schema %I to %I', user_name, role_name);
  execute format('grant usage, select on all sequences in schema %I to %I', user_name, role_name);
  execute format('alter default privileges in schema %I grant select, insert, update, delete on tables to %I', user_name, role_name);
  execute format('alter default privileges in schema %I grant usage, select on sequences to %I', user_name, role_name);
end $$;

select system.create_user_schema('user_0001');
