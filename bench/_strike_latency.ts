/**
 * Issue 17's target "price row durable → strike table committed, p99 ≤ 50 ms": a real
 * coordinator (closed form, 75 markets, its own pool listening on `recio_price_btc` as the
 * worker wires it) runs in this process; the bench commits one price row and its `NOTIFY` at a
 * time, as the price watchdog does, and times from sending that row's transaction (so the row's
 * own insert and commit are counted too: an upper bound of "durable →") until its
 * `recio_strike_table_btc` notification arrives (sent inside the table's transaction, so
 * delivered only after the table and its history row committed). A sample counts only when
 * the header then shows that row's price; samples are `GAP_MS` apart, well above the cycle time,
 * as live prices come once a second. The safety-net timer is 5 s, so it does not fire during
 * the run.
 *
 * @module
 */
import { type ActorContext, NOT_LEASED } from "../actors/_runtime.ts";
import {
  type CoordinatorSettings,
  createStrikeCoordinator,
} from "../actors/strike_coordinator/mod.ts";
import { createCoordinatorStore } from "../actors/strike_coordinator/store.ts";
import { createSql } from "../lib/db.ts";
import { priceChannel, strikeTableChannel } from "../lib/notify_channels.ts";
import { sleep } from "../lib/sleep.ts";
import type { TestDb } from "../tests/_db.ts";

const SAMPLES = 300;

/** The coordinator settings of the strike coordinator benchmarks (inputs stay fresh for an hour). */
export function benchSettings(mode: "closed_form" | "empirical"): CoordinatorSettings {
  return {
    symbol: "BTC",
    mode,
    cycleMs: 1_000,
    strikeCount: 21,
    volWindowS: 1_800,
    volFloorAnnual: 0.2,
    momentumDrift: 0,
    priceMaxAgeMs: 3_600_000,
    marketMaxAgeMs: 3_600_000,
    outputDir: null,
    watchlist: { minVolume: 1_000, minProbability: 90, maxAsk: 98, minDiff: -2.75 },
  };
}
const GAP_MS = 20;

/** Latencies (ms) of `SAMPLES` price rows, on a database seeded with the 75-market event. */
export async function priceToTable(
  db: TestDb,
  context: () => ActorContext,
  firstPriceAt: number,
): Promise<{ latencies: number[]; mismatched: number }> {
  const sql = createSql(db.url, { max: 2, applicationName: "bench-coordinator" });
  const ctx = { ...context(), lease: NOT_LEASED };
  const coordinator = createStrikeCoordinator(ctx, {
    store: createCoordinatorStore(sql, "BTC"),
    settings: benchSettings("closed_form"),
    writeJson: () => Promise.resolve(),
    listen: (channel, fn, onListen) => sql.listen(channel, fn, onListen),
    close: () => sql.end({ timeout: 2 }),
  });
  let arrived: ((at: number) => void) | undefined;
  const tables = await db.sql.listen(strikeTableChannel("btc"), () => arrived?.(performance.now()));
  const next = () => new Promise<number>((resolve) => (arrived = resolve));
  let wait = next();
  await coordinator.start();
  await wait; // its first cycle
  const latencies: number[] = [];
  let mismatched = 0;
  try {
    for (let i = 1; i <= SAMPLES; i++) {
      const price = (97_000 + i / 100).toFixed(2);
      const at = new Date(firstPriceAt + i * 1000);
      wait = next();
      const t0 = performance.now();
      await db.sql.begin(async (tx) => {
        await tx`insert into live_data.btc_price_log ("timestamp", price, momentum)
          values (${at}, ${price}, 0.01)`;
        await tx`select pg_notify(${priceChannel("btc")}, ${
          JSON.stringify({ symbol: "btc", timestamp: at.toISOString(), price, rows: 1 })
        })`;
      });
      const t = (await wait) - t0;
      const [h] = await db.sql<{ price: string }[]>`select current_price::text as price
        from live_data.strike_table_header where symbol = 'BTC'`;
      if (h && Number(h.price) === Number(price)) latencies.push(t);
      else mismatched++;
      await sleep(GAP_MS);
    }
  } finally {
    await tables.unlisten();
    await coordinator.stop();
  }
  return { latencies, mismatched };
}
