/**
 * `deno task trades:rebuild -- --user user_0001 [--context]`: rebuilds every live trade of one
 * user from the stored fills and settlements (`lib/trades/store.ts`, the account sync's own code),
 * reads the context at entry of the trades that have none (with `--context`: of every trade,
 * again), refreshes `active_trades`, and prints what it did as JSON. Legacy trades are left as
 * they are. The result is the rows the account sync keeps live: the same build, upserted by the
 * same keys, so a rebuild over live trades changes nothing and one over none writes them all.
 * It may run beside a live account sync: both lock the user's trades for each rebuild.
 *
 * Exit codes: 0 rebuilt, 1 a database error, 2 bad arguments (an unknown flag, no or a bad
 * `--user`), invalid configuration, no `DATABASE_URL`, or a database without the schema or the
 * user's schema.
 *
 * @module
 */
import { commandArgs, commandDatabase, commandDatabaseConfig, taskArgs } from "../lib/cli.ts";
import { createTradeStore } from "../lib/trades/store.ts";

async function main(args: string[]): Promise<number> {
  const values = commandArgs("trades:rebuild", {
    user: { type: "string" },
    context: { type: "boolean", default: false },
  }, args);
  const user = values.user;
  if (user === undefined || !/^user_[0-9]{4}$/.test(user)) {
    console.error("--user: expected a user like user_0001");
    return 2;
  }
  const config = commandDatabaseConfig(
    "trades:rebuild",
    "point it at the database whose trades to rebuild",
  );
  const sql = await commandDatabase("trades:rebuild", config, { users: [user] });
  try {
    const store = createTradeStore(sql, user);
    const t0 = performance.now();
    const cleared = values.context ? await store.clearContext() : 0;
    const r = await store.rebuild("all");
    const now = Date.now();
    let contexts = 0;
    for (let n = await store.fillContext(now); n > 0; n = await store.fillContext(now)) {
      contexts += n;
    }
    const open = await store.refreshActive(now);
    console.log(JSON.stringify(
      {
        user,
        markets: r.markets,
        trades: r.trades,
        open,
        written: r.written,
        deleted: r.deleted,
        rejections: r.rejections,
        duplicates: r.duplicates,
        contextsCleared: cleared,
        contextsRead: contexts,
        ms: Math.round(performance.now() - t0),
      },
      null,
      2,
    ));
    return 0;
  } catch (e) {
    console.error(`Cannot rebuild the trades of ${user}: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) Deno.exit(await main(taskArgs()));
