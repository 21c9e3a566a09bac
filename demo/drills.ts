/**
 * Fault drills of demo mode. The status API's `POST /drills/:name` (token-guarded) forwards here
 * (`supervisor/http_drills.ts`); this server runs in the demo's own process, next to the heart that
 * owns the embedded database. Each drill causes a real fault whose supervision events and recovery
 * then show on `/status`, `/events` and the page.
 *
 * | drill | what happens |
 * | --- | --- |
 * | `drop_price_feed` | the simulated Coinbase closes every connection (the watchdogs reconnect) |
 * | `silence_price_feed?seconds=N` | it stops sending (silence → reconnect; past freshness, a restart) |
 * | `kalshi_429?seconds=N` | the simulated Kalshi answers 429 (the client backs off) |
 * | `kalshi_401?seconds=N` | it refuses the key (the account sync goes degraded, then recovers) |
 * | `crash_actor?actor=ID` | the supervisor terminates that actor's worker as a crash (restart by policy) |
 * | `stop_database?seconds=N` | the embedded PostgreSQL stops for N s (buffers hold, then flush) |
 *
 * `seconds` is an integer from 1 to 300 (default 10). Drills never overlap: while one runs (a timed
 * drill for its N seconds, `stop_database` until the database is back), any other answers 409.
 * The database always comes back: its outage is owned by the heart's `EmbeddedDb.outage`, which
 * also refuses a second one, and a demo stop cuts it short.
 *
 * @example
 * ```ts ignore
 * const drills = createDrills({ venueUrl, terminate, outage: (ms) => db.outage(ms), record });
 * Deno.serve({ hostname: "127.0.0.1", port: 0 }, drills.app.fetch);
 * ```
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { type Clock, systemClock } from "../lib/clock.ts";
import { errorInfo } from "../lib/errors.ts";
import { getLogger } from "../lib/log.ts";
import { bearerMatches } from "../lib/same_secret.ts";
import { problem, problemError, problemResponse } from "../supervisor/http_problem.ts";

/** What the drills act on. */
export interface DrillDeps {
  /** The simulator's control endpoint (venue drills). */
  venueUrl: string;
  /** Bearer token of the simulator's control endpoint. */
  venueToken?: string | undefined;
  /** Terminates an actor's worker as a crash; throws a problem (404, 409) when it cannot. */
  terminate(actor: string): Promise<void>;
  /** An outage of the embedded database (absent with an external DATABASE_URL). */
  outage?: (downMs: number) => Promise<void>;
  /** Records a supervision event (`drill`, `drill_done`, `drill_failed`). */
  record(event: string, reason: string): void;
  /** Bearer token the caller must present (the status API forwards its caller's header). */
  token?: string | undefined;
  clock?: Clock;
}

/** The drill server: its Hono app, what runs now, and `close()` for its timers. */
export interface Drills {
  app: Hono;
  /** The drill running now, if any. */
  running(): string | undefined;
  close(): void;
}

/** Timed venue drills: busy for their `seconds`. */
const TIMED_VENUE = new Set(["silence_price_feed", "kalshi_429", "kalshi_401"]);
const DRILLS = new Set([...TIMED_VENUE, "drop_price_feed", "crash_actor", "stop_database"]);

const Params = z.object({
  seconds: z.coerce.number().int().min(1).max(300).default(10),
  actor: z.string().min(1).max(200).optional(),
});

/** Builds the drill server. */
export function createDrills(d: DrillDeps): Drills {
  const log = getLogger("drills");
  const clock = d.clock ?? systemClock;
  let current: { name: string; until: number | undefined } | undefined;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const release = () => (current = undefined);
  const holdFor = (ms: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      release();
    }, ms);
    timers.add(t);
  };

  const app = new Hono();
  app.onError((e) => problemResponse(e));
  app.notFound(() => problemResponse(problemError(404, "no such route")));
  app.post("/drills/:name", async (c) => {
    if (d.token) {
      if (!(await bearerMatches(c.req.header("authorization"), d.token))) {
        problem(401, "a valid bearer token is required", { "WWW-Authenticate": "Bearer" });
      }
    }
    const name = c.req.param("name");
    if (!DRILLS.has(name)) problem(404, `unknown drill "${name.slice(0, 40)}"`);
    const parsed = Params.safeParse(c.req.query());
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      problem(400, `invalid query parameter "${issue.path.join(".")}": ${issue.message}`);
    }
    const { seconds, actor } = parsed.data;
    if (name === "crash_actor" && !actor) problem(400, `drill "crash_actor" needs ?actor=<id>`);
    if (name === "stop_database" && !d.outage) {
      problem(409, `drill "stop_database" needs the embedded database (DATABASE_URL is set)`);
    }
    if (current) {
      const left = current.until === undefined
        ? ""
        : ` (about ${Math.max(0, Math.ceil((current.until - clock.now()) / 1000))} s left)`;
      problem(409, `drill "${current.name}" is still running${left}; drills do not overlap`);
    }
    const timed = TIMED_VENUE.has(name) || name === "stop_database";
    current = { name, until: timed ? clock.now() + seconds * 1000 : undefined };
    d.record("drill", `${name}${actor ? ` ${actor}` : ""}${timed ? ` (${seconds} s)` : ""}`);
    log.warn("Fault drill {name}", { name });
    try {
      if (name === "crash_actor") {
        await d.terminate(actor!);
        release();
        return c.json({ drill: name, actor }, 202);
      }
      if (name === "stop_database") {
        // Not awaited: the answer goes out before the database stops. The drill holds until
        // the database is back (or the outage failed), however long that takes.
        d.outage!(seconds * 1000).then(
          () => d.record("drill_done", `stop_database: database back after ${seconds} s`),
          (e) => {
            const error = errorInfo(e).message;
            log.error("Database drill failed: {error}", { error });
            d.record("drill_failed", `stop_database: ${error}`);
          },
        ).finally(release);
        return c.json({ drill: name, seconds }, 202);
      }
      const r = await fetch(`${d.venueUrl}/drill/${name}?seconds=${seconds}`, {
        method: "POST",
        headers: d.venueToken ? { authorization: `Bearer ${d.venueToken}` } : {},
        signal: AbortSignal.timeout(10_000),
      }).catch(() => problem(503, `drill "${name}" failed: the simulated venues do not answer`));
      const body = await r.json().catch(() => undefined);
      if (!r.ok) problem(503, `drill "${name}" failed: the simulated venue answered ${r.status}`);
      if (TIMED_VENUE.has(name)) holdFor(seconds * 1000);
      else release();
      return c.json(body ?? { drill: name }, 202);
    } catch (e) {
      if (name !== "stop_database") release();
      throw e;
    }
  });
  return {
    app,
    running: () => current?.name,
    close: () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
