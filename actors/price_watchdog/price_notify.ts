/**
 * The price log's announcements: the SQL that sends `NOTIFY recio_price_<sym>` (channel and
 * payload documented in `lib/notify_channels.ts`) inside the write it announces, so it is
 * delivered at commit and never for a write that did not commit. The payload is built by the
 * server from what the write inserted: `{"symbol":"btc","timestamp":"<ISO of the newest second
 * inserted>","price":"<its stored price, trailing zeros trimmed>","rows":<rows inserted>}`
 * (well under the 8000-byte limit: a symbol of at most 10 letters, fixed-width fields). A write
 * that inserts nothing (every row already stored) announces nothing.
 *
 * @example
 * ```ts ignore
 * const notify = new PriceNotify("btc");
 * const done = await notify.inserting(sql, sql`insert into ... returning "timestamp", price`, true);
 * ```
 *
 * @module
 */
import type { Sql } from "../../lib/db.ts";
import { priceChannel } from "../../lib/notify_channels.ts";

/** What an insert inserted: how many rows, the newest second and its stored price. */
export interface Inserted {
  n: number;
  t: Date | null;
  price: string | null;
}

/** Nothing inserted. */
export const NONE: Inserted = { n: 0, t: null, price: null };

type Fragment = ReturnType<Sql>;

/** The announcements of one symbol's price log. */
export class PriceNotify {
  readonly channel: string;

  /** Throws for a symbol that makes no valid channel name. */
  constructor(readonly symbol: string) {
    this.channel = priceChannel(symbol);
  }

  /**
   * Runs `insert` (returning "timestamp", price) as one statement that also reports what it
   * inserted and, when `announce`, sends the NOTIFY of those rows in the same statement.
   */
  async inserting(q: Sql, insert: Fragment, announce: boolean): Promise<Inserted> {
    const [r] = await q<{ n: number; t: Date | null; price: string | null }[]>`
      with ins as (${insert}),
        s as (select count(*)::int as n, max(ins."timestamp") as t from ins),
        p as (select s.n, s.t, (select trim_scale(ins.price)::text from ins
          where ins."timestamp" = s.t limit 1) as price from s)
      select p.n, p.t, p.price,
        case when ${announce} and p.n > 0 then pg_notify(${this.channel},
          ${this.#payload(q, q`p.n`, q`p.t`, q`p.price`)}) end as notified
      from p`;
    return r ?? NONE;
  }

  /** Sends, inside transaction `tx`, the NOTIFY of rows it inserted (nothing when none). */
  async announce(tx: Sql, done: Inserted): Promise<void> {
    if (done.n === 0 || done.t === null) return;
    await tx`select pg_notify(${this.channel}, ${
      this.#payload(tx, tx`${done.n}::int`, tx`${done.t}::timestamptz`, tx`${done.price}::text`)
    })`;
  }

  /** Sends, inside transaction `tx`, the NOTIFY of `n` rows copied, the newest `newestMs`. */
  async announceCopied(tx: Sql, n: number, newestMs: number, price: string): Promise<void> {
    await tx`select pg_notify(${this.channel}, ${
      this.#payload(
        tx,
        tx`${n}::int`,
        tx`${new Date(newestMs)}::timestamptz`,
        tx`trim_scale(${price}::numeric(20, 8))::text`,
      )
    })`;
  }

  /** The payload, built server-side from the three expressions. */
  #payload(q: Sql, n: Fragment, t: Fragment, price: Fragment): Fragment {
    return q`format('{"symbol":"%s","timestamp":"%s","price":"%s","rows":%s}',
      ${this.symbol}::text, to_char(${t} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      ${price}, ${n})`;
  }
}
