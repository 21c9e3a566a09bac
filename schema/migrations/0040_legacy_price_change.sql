-- Legacy import (issue 6): the Kraken hourly/daily price change the old system kept per symbol
-- (`btc_price_change.json` and the HEAD tables live_data.price_change_btc/_eth). Percent values,
-- one row per observation, keyed by its UTC time so a re-import adds nothing.
create table if not exists live_data.price_change_btc (
  "timestamp" timestamptz primary key,
  change1h numeric(10, 6),
  change3h numeric(10, 6),
  change1d numeric(10, 6),
  source text not null default 'kraken'
);
create table if not exists live_data.price_change_eth
  (like live_data.price_change_btc including all);
