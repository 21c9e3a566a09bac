/**
 * A BTC event with its 40 markets (strikes 94,999.99 to 104,749.99, 250 apart) in
 * `live_data.kalshi_events` and `kalshi_market_state`, as the strike coordinator's tests seed it.
 *
 * @module
 */
import type { TestDb } from "./_db.ts";

/** Seeds `event` closing at `strikeDate`, its markets observed at `observedAt`. */
export async function seedStrikeEvent(db: TestDb, o: {
  event: string;
  strikeDate: Date;
  observedAt: Date;
  /** Columns of market `i` over the defaults (active, asks 0.50/0.51, volume 2,500). */
  market?: (i: number) => Record<string, unknown>;
}): Promise<void> {
  await db.sql`insert into live_data.kalshi_events (event_ticker, series_ticker, symbol, title,
      strike_date, status)
    values (${o.event}, 'KXBTCD', 'BTC', 'Bitcoin at 3pm EST?', ${o.strikeDate}, 'open')`;
  const markets = Array.from({ length: 40 }, (_, i) => ({
    market_ticker: `${o.event}-T${95_000 + i * 250 - 0.01}`,
    event_ticker: o.event,
    series_ticker: "KXBTCD",
    floor_strike: String(95_000 + i * 250 - 0.01),
    status: "active",
    yes_ask: "0.50",
    no_ask: "0.51",
    volume: "2500",
    observed_at: o.observedAt,
    ...o.market?.(i),
  }));
  await db.sql`insert into live_data.kalshi_market_state ${db.sql(markets)}`;
}
