-- The model's calibration against settled markets (issue 16), as views over
-- live_data.kalshi_market_results (0101) and live_data.strike_table_history (0100).
--
-- A point is one settled market (result 'yes' or 'no', with a close_time) at one horizon h of 60,
-- 30, 15, 5 and 1 minutes before its close: the newest history row of its ticker at or before
-- close_time - h and not older than close_time - h - 2 minutes (the tolerance: a few dozen
-- coordinator cycles; an older row is not the model's view at that instant). Its probability is
-- the model's percent chance of YES, as the history stores it; p_yes is that as a fraction.
-- status says what became of the point: 'ok'; 'no_row' (no history row inside the tolerance);
-- 'bad_probability' (the newest row's probability is null or outside 0..100 percent: left out of
-- every statistic, not replaced by an older row, and counted as bad_probability).
--
-- Markets with another result ('void', 'scalar', anything else Kalshi sends), and unsettled
-- ones (no row, result null or ''), are not points; calibration_coverage counts the former.
--
-- calibration_since(since, horizon) computes everything in one pass over the points of the markets
-- closing at or after `since` (at one horizon, or all when null): per model mode and horizon, one
-- row per 5-point bin of the predicted probability ([0,5) ... [90,95), and [95,100] with 100 in it:
-- count, YES count, mean predicted, realized frequency, a 95% Wilson score interval with z = 1.96,
-- Brier score, log loss) and one total row (bin_lo null, with bad_probability, and no_row on the
-- row whose model_mode is null). Brier is the mean of (p - outcome)^2; the log loss is the mean of
-- -ln(p) for YES and -ln(1 - p) for NO with p clamped to [1e-6, 1 - 1e-6]. The views
-- calibration_reliability (the bins), calibration_scores (the totals) and calibration_coverage (per
-- horizon) are its projections from the beginning of time, over every horizon: a filter on them
-- applies after the pass (its grouping sets keep it out), so for one horizon call calibration_since
-- with it. Each point costs one index probe; the functions are plain SQL and stable, so PostgreSQL
-- inlines them into the query.

-- The horizon lookup is one index probe per market and horizon: (ticker, cycle_at), unless 0100
-- already has an index that starts with those two columns.
do $$
begin
  if not exists (
    select 1
    from pg_index i
    where i.indrelid = 'live_data.strike_table_history'::regclass
      and (select array_agg(a.attname::text order by k.ord)
           from unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
           join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
           where k.ord <= 2) = array['ticker', 'cycle_at']
  ) then
    create index strike_table_history_ticker_cycle_at_idx
      on live_data.strike_table_history (ticker, cycle_at);
  end if;
end $$;

create view analytics.calibration_points as
select m.ticker,
       m.event_ticker,
       m.close_time,
       m.result,
       case m.result when 'yes' then 1 else 0 end as outcome,
       h.horizon_min,
       m.close_time - make_interval(mins => h.horizon_min) as target_at,
       s.cycle_at,
       s.symbol,
       s.model_mode,
       s.probability,
       case when s.probability between 0 and 100 then s.probability / 100 end as p_yes,
       case
         when s.cycle_at is null then 'no_row'
         when s.probability between 0 and 100 then 'ok'
         else 'bad_probability'
       end as status
from live_data.kalshi_market_results m
cross join (values (60), (30), (15), (5), (1)) as h (horizon_min)
left join lateral (
  select r.cycle_at, r.symbol, r.model_mode, r.probability
  from live_data.strike_table_history r
  where r.ticker = m.ticker
    and r.cycle_at <= m.close_time - make_interval(mins => h.horizon_min)
    and r.cycle_at >= m.close_time - make_interval(mins => h.horizon_min) - interval '2 minutes'
  order by r.cycle_at desc
  limit 1
) s on true
where m.result in ('yes', 'no') and m.close_time is not null;

comment on view analytics.calibration_points is
  'One settled market at one horizon before its close: the newest strike_table_history row of its '
  'ticker within 2 minutes before close_time - horizon, and the outcome (migration 0103).';

-- The bounds of the 95% Wilson score interval of k successes in n trials (z = 1.96).
create function analytics.wilson_lower(k bigint, n bigint) returns double precision
language sql immutable as $$
  select case when n > 0 then
    ((k::float8 / n + 1.96 ^ 2 / (2 * n))
      - 1.96 * sqrt((k::float8 / n) * (1 - k::float8 / n) / n + 1.96 ^ 2 / (4 * n ^ 2)))
    / (1 + 1.96 ^ 2 / n)
  end
$$;

create function analytics.wilson_upper(k bigint, n bigint) returns double precision
language sql immutable as $$
  select case when n > 0 then
    ((k::float8 / n + 1.96 ^ 2 / (2 * n))
      + 1.96 * sqrt((k::float8 / n) * (1 - k::float8 / n) / n + 1.96 ^ 2 / (4 * n ^ 2)))
    / (1 + 1.96 ^ 2 / n)
  end
$$;

create function analytics.calibration_since(since timestamptz, horizon int default null)
returns table (
  model_mode text,
  horizon_min int,
  bin_lo int,
  bin_hi int,
  n int,
  yes_count int,
  bad_probability int,
  no_row int,
  mean_predicted double precision,
  realized double precision,
  wilson_lo double precision,
  wilson_hi double precision,
  brier double precision,
  log_loss double precision
)
language sql stable as $$
  select g.model_mode, g.horizon_min, g.bin * 5, g.bin * 5 + 5, g.n::int, g.k::int, g.bad::int,
         g.no_row::int, g.mean_predicted, g.k::float8 / nullif(g.n, 0),
         analytics.wilson_lower(g.k, g.n), analytics.wilson_upper(g.k, g.n), g.brier, g.log_loss
  from (
    select q.model_mode, q.horizon_min, q.bin, grouping(q.bin) as total,
           count(*) filter (where q.status = 'ok') as n,
           coalesce(sum(q.outcome) filter (where q.status = 'ok'), 0) as k,
           count(*) filter (where q.status = 'bad_probability') as bad,
           count(*) filter (where q.status = 'no_row') as no_row,
           avg(q.p) filter (where q.status = 'ok') as mean_predicted,
           avg((q.p - q.outcome) ^ 2) filter (where q.status = 'ok') as brier,
           -avg(q.outcome * ln(q.pc) + (1 - q.outcome) * ln(1 - q.pc))
             filter (where q.status = 'ok') as log_loss
    from (
      select p.model_mode, p.horizon_min, p.status, p.outcome, p.p_yes::float8 as p,
             least(greatest(p.p_yes::float8, 1e-6), 1 - 1e-6) as pc,
             -- least() skips nulls: a point without a probability must stay without a bin.
             case when p.p_yes is not null then least(floor(p.p_yes * 20)::int, 19) end as bin
      from analytics.calibration_points p
      where p.close_time >= since and (horizon is null or p.horizon_min = horizon)
    ) q
    group by grouping sets ((q.model_mode, q.horizon_min, q.bin), (q.model_mode, q.horizon_min))
  ) g
  -- Bins of the points with a probability, and the totals.
  where g.total = 1 or g.bin is not null
$$;

-- The markets by result: the settled points, the others, those without a close time (cheap: no
-- history is read).
create function analytics.calibration_markets_since(since timestamptz)
returns table (settled int, other_result int, no_close_time int)
language sql stable as $$
  select count(*) filter (where m.result in ('yes', 'no') and m.close_time >= since)::int,
         count(*) filter (where m.result not in ('yes', 'no', '')
                            and coalesce(m.close_time, m.settled_at, m.recorded_at) >= since)::int,
         count(*) filter (where m.result in ('yes', 'no') and m.close_time is null
                            and coalesce(m.settled_at, m.recorded_at) >= since)::int
  from live_data.kalshi_market_results m
$$;

create view analytics.calibration_reliability as
select model_mode, horizon_min, bin_lo, bin_hi, n, yes_count, mean_predicted, realized,
       wilson_lo, wilson_hi, brier, log_loss
from analytics.calibration_since('-infinity')
where bin_lo is not null;

create view analytics.calibration_scores as
select model_mode, horizon_min, n, bad_probability, realized as base_rate, mean_predicted, brier,
       log_loss
from analytics.calibration_since('-infinity')
where bin_lo is null and (n > 0 or bad_probability > 0);

-- Per horizon: settled = points (results 'yes'/'no' with a close_time), split into ok, no_row and
-- bad_probability; other_result counts the markets with another result, no_close_time the
-- 'yes'/'no' ones without a close_time (neither is a point).
create view analytics.calibration_coverage as
select h.horizon_min, m.settled, coalesce(sum(c.n), 0)::int as ok,
       coalesce(sum(c.no_row), 0)::int as no_row,
       coalesce(sum(c.bad_probability), 0)::int as bad_probability,
       m.other_result, m.no_close_time
from (values (60), (30), (15), (5), (1)) as h (horizon_min)
cross join analytics.calibration_markets_since('-infinity') m
left join analytics.calibration_since('-infinity') c
  on c.horizon_min = h.horizon_min and c.bin_lo is null
group by h.horizon_min, m.settled, m.other_result, m.no_close_time;
