-- historical_data: 1-minute candles (minute start, UTC) used to backfill feed gaps and to build
-- the empirical probability model.
create table if not exists historical_data.btc_ohlc_1m (
  "timestamp" timestamptz primary key,
  open numeric(20, 8) not null,
  high numeric(20, 8) not null,
  low numeric(20, 8) not null,
  close numeric(20, 8) not null,
  volume numeric(20, 8) not null default 0,
  source text not null default 'coinbase',
  fetched_at timestamptz not null default now()
);
create table if not exists historical_data.eth_ohlc_1m
  (like historical_data.btc_ohlc_1m including all);
