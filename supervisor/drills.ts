/**
 * Fault drills of demo mode, run through `POST /drills/:name` (token-guarded): each causes a real
 * fault whose supervision events and recovery then show on `/status`, `/events` and the page.
 *
 * | drill | what happens |
 * | --- | --- |
 * | `drop_price_feed` | the simulated Coinbase closes every connection (the watchdogs reconnect) |
 * | `silence_price_feed?seconds=N` | it stops sending (silence → reconnect; past freshness, a restart) |
 * | `kalshi_429?seconds=N` | the simulated Kalshi answers 429 (the client backs off) |
 * | `kalshi_401?seconds=N` | it refuses the key (the account sync goes degraded, then recovers) |
 * | `crash_actor?actor=ID` | the supervisor kills that actor's worker as a crash (restart by policy) |
 * | `stop_database?seconds=N` | the embedded PostgreSQL stops for N s (buffers hold, then flush) |
 *
 * @module
 */
import { simulateOutage } from "../lib/embedded_db.ts";
import { SupervisorError } from "../lib/errors.ts";
import { getLogger } from "../lib/log.ts";

export interface DrillDeps {
  /** The venues' control endpoint. */
  controlUrl: string;
  crashChild(id: string, reason: string): void;
  /** The embedded database (absent with an external DATABASE_URL). */
  embedded?: { dir: string; port: number };
  record(event: string, reason: string): void;
}

const VENUE_DRILLS = ["drop_price_feed", "silence_price_feed", "kalshi_429", "kalshi_401"];

/** Builds the drill runner for the status app. */
export function createDrills(d: DrillDeps) {
  const log = getLogger("drills");
  return async (name: string, params: Record<string, string>): Promise<unknown> => {
    const seconds = Math.min(300, Math.max(1, Number(params.seconds ?? "10") || 10));
    d.record("drill", `${name}${params.actor ? ` ${params.actor}` : ""} (${seconds} s)`);
    log.warn("Fault drill {name}", { name });
    if (VENUE_DRILLS.includes(name)) {
      const r = await fetch(`${d.controlUrl}/drill/${name}?seconds=${seconds}`, { method: "POST" });
      if (!r.ok) throw new SupervisorError(`Drill "${name}" failed: venue answered ${r.status}`);
      return await r.json();
    }
    if (name === "crash_actor") {
      if (!params.actor) throw new SupervisorError(`Drill "crash_actor" needs ?actor=<id>`);
      d.crashChild(params.actor, "fault drill: crash_actor");
      return { drill: name, actor: params.actor };
    }
    if (name === "stop_database") {
      const e = d.embedded;
      if (!e) throw new SupervisorError(`Drill "stop_database" needs the embedded database`);
      // Not awaited: the answer goes out before the database stops.
      simulateOutage(e.dir, e.port, seconds * 1000).then(
        () => d.record("drill_done", `stop_database: database back after ${seconds} s`),
        (err) => log.error("Database drill failed: {error}", { error: String(err) }),
      );
      return { drill: name, seconds };
    }
    throw new SupervisorError(`Unknown drill "${name}"`);
  };
}
