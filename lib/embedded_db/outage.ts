/**
 * Stopping a running embedded server, and the demo's `stop_database` drill: a real outage for
 * every client. One at a time: while an outage runs (or after `stop()`), another is refused at
 * once, so two outages never interleave their stops and starts; `stop()` cuts a running outage
 * short and the server stays stopped. The server's own start and stop are passed in, and the
 * waits run on the clock seam, so this is tested on fake time.
 *
 * @example
 * ```ts
 * import { ManualClock } from "../clock.ts";
 * import { serverControl } from "./outage.ts";
 * const clock = new ManualClock();
 * const calls: string[] = [];
 * const control = serverControl({
 *   dir: "/srv/pg",
 *   startServer: () => Promise.resolve(void calls.push("start")),
 *   stopServer: () => Promise.resolve(void calls.push("stop")),
 *   clock,
 * });
 * const back = control.outage(1_000);
 * await clock.tick(1_000);
 * await back;
 * console.log(calls); // ["stop", "start"]
 * ```
 *
 * @module
 */
import type { EmbeddedLog } from "./log.ts";
import { type Clock, systemClock } from "../clock.ts";
import { DatabaseError } from "../errors.ts";
import { sleep } from "../sleep.ts";

/** An outage asked for while another runs or while the server shuts down. */
export class OutageRefused extends DatabaseError {
  override name = "OutageRefused";
}

/** What {@linkcode serverControl} works with. */
export interface ServerControlDeps {
  /** The data directory, for messages. */
  dir: string;
  /** Starts the server again (on its port). */
  startServer(): Promise<void>;
  /** Stops the server (fast shutdown, harder when needed). */
  stopServer(): Promise<void>;
  /** Called once, after the final stop (even when it failed). */
  release?: () => void;
  log?: EmbeddedLog | undefined;
  clock?: Clock;
}

/** Stop and outage of one running server. */
export interface ServerControl {
  /** Fast shutdown; idempotent. Cuts a running outage short. */
  stop(): Promise<void>;
  /**
   * Stops the server, waits `downMs` (from the call), and starts it again, retrying the start
   * up to five times a second apart; resolves once it is back.
   */
  outage(downMs: number): Promise<void>;
}

/** Attempts to start the server again after an outage before giving up. */
const RESTART_ATTEMPTS = 5;
const RESTART_PAUSE_MS = 1_000;

/** The stop and outage of a server started by the caller. */
export function serverControl(deps: ServerControlDeps): ServerControl {
  const clock = deps.clock ?? systemClock;
  const { dir, log } = deps;
  let stopping: Promise<void> | undefined;
  let down: { cut(): void; done: Promise<void> } | undefined;
  const stop = () =>
    stopping ??= (async () => {
      down?.cut();
      await down?.done.catch(() => {});
      await deps.stopServer();
    })().finally(() => deps.release?.());
  const outage = (downMs: number): Promise<void> => {
    if (stopping) {
      return Promise.reject(
        new OutageRefused(`Cannot stop the embedded PostgreSQL in ${dir}: it is shutting down`),
      );
    }
    if (down) {
      return Promise.reject(
        new OutageRefused(
          `Cannot stop the embedded PostgreSQL in ${dir}: an outage is already running`,
        ),
      );
    }
    const cut = new AbortController();
    const waited = sleep(downMs, { signal: cut.signal, clock }).catch(() => {}); // cut short
    const done = (async () => {
      await deps.stopServer();
      await waited;
      for (let attempt = 1;; attempt++) {
        if (stopping) return; // shutting down: it stays stopped
        try {
          return await deps.startServer();
        } catch (e) {
          if (attempt >= RESTART_ATTEMPTS) throw e;
          log?.warn("Cannot start the embedded PostgreSQL again (attempt {attempt}): {error}", {
            attempt,
            error: e instanceof Error ? e.message : String(e),
          });
          await sleep(RESTART_PAUSE_MS, { clock });
        }
      }
    })().finally(() => (down = undefined));
    down = { cut: () => cut.abort(), done };
    return done;
  };
  return { stop, outage };
}
