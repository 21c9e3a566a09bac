-- Market results (issue 16): each market the market watchdog followed, once Kalshi settled it
-- (status `settled` or `finalized` with a result), recorded once: its result, the settlement
-- value of one YES contract in dollars, and when. Written by kalshi_market_watchdog under its
-- lease fence; a repeated poll with the same values changes nothing (recorded_at stays), a
-- corrected result or value from Kalshi replaces the row.
--
-- `result` is Kalshi's text as sent (`yes`, `no`, `scalar`, `void`): the watchdog refuses an
-- empty or unknown one and a negative settlement value before they get here (counted, not
-- written). The table itself keeps any text, so readers also work for later Kalshi values.
-- `strike` is the market's floor_strike as Kalshi sent it (`114749.99`); `settled_at` is Kalshi's
-- settlement_ts when it sent one; `recorded_at` is when the watchdog observed the result.
create table live_data.kalshi_market_results (
  ticker text primary key,
  event_ticker text not null,
  strike numeric,
  result text,
  settlement_value_dollars numeric constraint kalshi_market_results_value_check
    check (settlement_value_dollars >= 0),
  close_time timestamptz,
  settled_at timestamptz,
  recorded_at timestamptz not null
);
create index kalshi_market_results_event on live_data.kalshi_market_results (event_ticker);
