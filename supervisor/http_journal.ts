/**
 * The status API's read endpoints for the trader's journal (issue 16): `GET /calibration` (the
 * model's reliability table, scores and coverage from the views of migration 0103, filtered by
 * `mode`, `horizon` and `since` as `deno task calibration` is) and `GET /users/:user/pnl` (the
 * cumulative realized P&L of a user's closed live trades, in closing order). Parameters are
 * parsed at the edge; `:user` must be a user schema name (`user_NNNN`), so no request text
 * becomes an identifier it was not already.
 *
 * @module
 */
import type { Hono } from "hono";
import type { Sql } from "../lib/db.ts";
import { parseCalibrationFilter, readCalibration } from "../lib/calibration.ts";
import { problem } from "./http_problem.ts";

/** What the journal routes need. */
export interface JournalRouteDeps {
  sql: Sql;
  /** Counts a rejected request by reason. */
  reject(reason: string): void;
}

/** At most this many P&L points are answered: the newest, their running total still over all. */
export const PNL_MAX_POINTS = 10_000;

const CALIBRATION_KEYS = new Set(["mode", "horizon", "since"]);

/** Adds `GET /calibration` and `GET /users/:user/pnl` to `app`. */
export function addJournalRoutes(app: Hono, deps: JournalRouteDeps): void {
  const { sql } = deps;

  app.get("/calibration", async (c) => {
    const query = c.req.query();
    const unknown = Object.keys(query).find((k) => !CALIBRATION_KEYS.has(k));
    if (unknown !== undefined) {
      deps.reject("bad_query");
      problem(400, `invalid query parameter "${unknown.slice(0, 100)}": unknown parameter`);
    }
    const filter = parseCalibrationFilter(query);
    if (typeof filter === "string") {
      deps.reject("bad_query");
      const at = filter.indexOf(": ");
      problem(400, `invalid query parameter "${filter.slice(0, at)}": ${filter.slice(at + 2)}`);
    }
    return c.json(await readCalibration(sql, filter));
  });

  app.get("/users/:user/pnl", async (c) => {
    const user = c.req.param("user");
    if (!/^user_\d{4}$/.test(user)) {
      deps.reject("bad_user");
      problem(400, `invalid path parameter "user": expected a user like user_0001`);
    }
    const [found] = await sql<{ ok: boolean }[]>`
      select to_regclass(${`${user}.trades`}) is not null as ok`;
    if (!found?.ok) problem(404, `unknown user "${user}"`);
    // `user` names an existing schema: safe as an identifier. Settled trades are closed too.
    const rows = await sql<
      {
        closed_at: Date;
        ticker: string | null;
        side: string | null;
        pnl_dollars: string;
        cumulative_dollars: string;
        n: number;
      }[]
    >`
      select closed_at, ticker, side, pnl_dollars, cumulative_dollars, n
      from (
        select closed_at, ticker, side, pnl_dollars, id,
               sum(pnl_dollars) over w as cumulative_dollars,
               (row_number() over w)::int as n
        from ${sql(`${user}.trades`)}
        where source = 'live' and status in ('closed', 'settled')
          and closed_at is not null and pnl_dollars is not null
        window w as (order by closed_at, id)
      ) t
      order by closed_at desc, id desc
      limit ${PNL_MAX_POINTS}`;
    const points = rows.reverse();
    const total = points.at(-1);
    return c.json({
      user,
      trades: total?.n ?? 0,
      total_dollars: total?.cumulative_dollars ?? "0",
      truncated: (total?.n ?? 0) > points.length,
      points: points.map(({ n: _, ...p }) => p),
    });
  });
}
