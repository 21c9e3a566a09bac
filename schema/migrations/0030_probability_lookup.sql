-- analytics.probability_lookup: the empirical model's table, built by `deno task model:build`
-- from historical_data.<symbol>_ohlc_1m. p_up = P(close t minutes later ≥ +move_pct %),
-- p_down = P(close ≤ −move_pct %), as fractions; bucket = momentum bucket (−30..30, in 0.01 %)
-- or 'all'; samples = year-weighted count of start minutes.
create table if not exists analytics.probability_lookup (
  symbol text not null,
  bucket text not null,
  ttc_minutes int not null check (ttc_minutes between 1 and 60),
  move_pct numeric(5, 2) not null,
  p_up double precision not null,
  p_down double precision not null,
  samples double precision not null,
  built_at timestamptz not null default now(),
  primary key (symbol, bucket, ttc_minutes, move_pct)
);
