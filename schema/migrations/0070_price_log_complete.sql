-- Price logs: whether a row's second is known complete (issue 12). False when the second's last
-- trade may be missing: a feed break (frames lost by sequence number, a lost connection, a
-- replaced connection that did not prove live) covered part of it and no trade at or after the
-- break's end arrived in it, or the row was written before its second was seen to end (a stop, a
-- feed gone quiet). The price is then the last trade that was received, not necessarily the last
-- trade of the second. Rows written before this migration (and imported ones) count as complete.
alter table live_data.btc_price_log add column if not exists complete boolean not null default true;
alter table live_data.eth_price_log add column if not exists complete boolean not null default true;
