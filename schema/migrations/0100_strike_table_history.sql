-- Strike-table history (issue 16): every table the strike coordinator publishes, kept, so any past
-- table can be read back exactly and the model's view at any moment set against what happened.
--
-- One row per (symbol, cycle_at, strike): cycle_at is the cycle's instant (the header's
-- last_updated). The columns strike_table has carry its values unchanged, except `probability`:
-- here it is the model's percent (0-100) chance that the market resolves YES, and
-- `side_probability` is strike_table.probability (the chance that the active side wins). Asks and
-- bids are cents, as in strike_table. `price_age_ms` and `market_age_ms` are the ages of the
-- model's inputs at the cycle (the newest price row, the newest market snapshot of the event);
-- `close_time` is the market's own close. Only published cycles are kept: a stale cycle
-- publishes no table and stores none here, so `stale` is false on every row written today.
--
-- Range-partitioned by month like the price logs, so partition_maintenance creates months ahead,
-- retention drops whole months past RECIO_RETENTION_MONTHS and the backup dumps it; a default
-- partition takes rows of months without a partition, so no row is ever rejected.
create table live_data.strike_table_history (
  cycle_at timestamptz not null,
  symbol text not null,
  strike numeric not null,
  ticker text not null,
  event_ticker text not null,
  probability numeric,
  side_probability numeric,
  yes_ask numeric,
  no_ask numeric,
  yes_bid numeric,
  no_bid numeric,
  yes_diff numeric,
  no_diff numeric,
  buffer numeric,
  buffer_pct numeric,
  volume numeric,
  active_side text,
  current_price numeric not null,
  ttc_seconds int not null,
  close_time timestamptz,
  model_mode text not null,
  momentum numeric,
  price_age_ms int not null,
  market_age_ms int not null,
  stale boolean not null default false,
  primary key (symbol, cycle_at, strike)
) partition by range (cycle_at);
create table live_data.strike_table_history_default
  partition of live_data.strike_table_history default;

-- A market's model history (calibration reads one ticker at fixed horizons before its close).
create index strike_table_history_ticker on live_data.strike_table_history (ticker, cycle_at);

select system.ensure_month_partitions('live_data.strike_table_history', now(), now() + interval '3 months');
