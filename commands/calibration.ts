/**
 * `deno task calibration -- [--mode closed_form] [--horizon 5] [--since 2026-01-01]`: the
 * model's calibration against settled markets, read from the views of migration 0103
 * ({@linkcode readCalibration}): the reliability table (5-point bins of the predicted YES
 * probability against the realized frequency, with counts and a 95% Wilson interval), the Brier
 * score and log loss per model mode and horizon, and what was left out (probabilities outside
 * 0-100 %, horizons without a history row, markets settled as something other than yes/no).
 * Read only. Exit codes: 0 printed, 2 bad arguments, invalid configuration, no `DATABASE_URL` or
 * a database without the schema.
 *
 * @module
 */
import { commandArgs, commandDatabase, commandDatabaseConfig, taskArgs } from "../lib/cli.ts";
import { formatCalibration, parseCalibrationFilter, readCalibration } from "../lib/calibration.ts";

async function main(args: string[]): Promise<number> {
  const values = commandArgs("calibration", {
    mode: { type: "string" },
    horizon: { type: "string" },
    since: { type: "string" },
  }, args);
  const filter = parseCalibrationFilter(values);
  if (typeof filter === "string") {
    console.error(`--${filter}`);
    return 2;
  }
  const config = commandDatabaseConfig("calibration", "point it at the database to read");
  const sql = await commandDatabase("calibration", config, {
    applicationName: "recio-calibration",
  });
  try {
    console.log(formatCalibration(await readCalibration(sql, filter)));
    return 0;
  } finally {
    await sql.end();
  }
}

if (import.meta.main) Deno.exit(await main(taskArgs()));
