/**
 * The heart (after Erlang's `heart`): the process-level rung of the escalation ladder. A Web
 * Worker spinning in a busy loop cannot be stopped and one worker's out-of-memory ends the whole
 * process, so the supervisor runs as a child process of this small loop, which
 * - owns the embedded database (when no `DATABASE_URL` is set), so it survives supervisor
 *   restarts, and stops it last; it tells the supervisor (`RECIO_DB_USERS_GENERATE=1`) to
 *   generate the users' role passwords beside it, which an external database's operator supplies;
 * - gives the supervisor a concrete HTTP port (a free one when the configured port is 0) and
 *   pings its `/healthz` every `pingMs` once it first answered; a supervisor that then stays
 *   silent for `hangMs` is killed (SIGKILL) and restarted;
 * - restarts the supervisor with exponential backoff and jitter when it exits abnormally, up to
 *   `maxRestarts` within ten minutes, then exits 1 so that systemd or the container takes over;
 *   exit 0 is a clean stop (the heart exits 0 too), and exit 2 (invalid configuration, which
 *   includes a database that refuses the credentials or does not exist) is not retried, since it
 *   would only fail the same way again; exit 3 (the database unreachable, or its migrations
 *   refused) is retried on a backoff of its own that grows to minutes and never gives up, so an
 *   outage or a schema to fix by hand causes no restart storm;
 * - on SIGINT/SIGTERM (the `signal` option) asks the supervisor to stop (SIGTERM), waits for it
 *   (bounded, then SIGKILL), stops the database and exits 0;
 * - records itself and its supervisor in `<dataDir>/heart.json`, so that after the heart itself
 *   was SIGKILLed the next heart first stops the orphaned supervisor (SIGTERM, bounded, then
 *   SIGKILL) while its database is still up, and only then takes over the database;
 * - tells systemd (`Type=notify`, see `sd_notify.ts`) READY once the supervisor first answers,
 *   WATCHDOG while the heart itself runs, and STOPPING at the end.
 *
 * Its process stays small: nothing here loads an npm package (it logs through `heart_log.ts`);
 * the supervisor process runs with {@linkcode SUPERVISOR_V8_FLAGS}.
 *
 * Exit codes: 0 clean stop, 1 gave up restarting, 2 the supervisor's configuration is invalid
 * (or `prepare` refused it, e.g. the demo given a live database), 3 the embedded database could
 * not be started.
 *
 * @example
 * ```ts ignore
 * const stop = new AbortController();
 * Deno.addSignalListener("SIGTERM", () => stop.abort());
 * Deno.exit(await runHeart({ config: loadConfig(), signal: stop.signal }));
 * ```
 *
 * @module
 */
import { type Clock, systemClock } from "../lib/clock.ts";
import { backoffDelay } from "../lib/backoff.ts";
import { sleep } from "../lib/sleep.ts";
import type { Config } from "../lib/config.ts";
import {
  type EmbeddedDb,
  freePort,
  processStartTime,
  startEmbeddedDb,
} from "../lib/embedded_db/mod.ts";
import { ConfigError, errorInfo } from "../lib/errors.ts";
import { redactText } from "../lib/redact.ts";
import { resolve } from "../lib/embedded_db/paths.ts";
import { type HeartLog, heartLogger } from "./heart_log.ts";
import { watchHealthz } from "./heart_ping.ts";
import { type SdNotifier, startSdNotify } from "./sd_notify.ts";

/** Exit codes of the heart. */
export const HEART_EXIT = { ok: 0, gaveUp: 1, config: 2, database: 3 } as const;

/** The supervisor's own exit code for invalid configuration (see `supervisor/main.ts`). */
const CHILD_CONFIG_EXIT = 2;
/** The supervisor's exit code when the database is unreachable or refuses its migrations. */
const CHILD_DATABASE_EXIT = 3;

/** Options of {@linkcode runHeart}. */
export interface HeartOptions {
  config: Config;
  /** The supervisor command (default: this Deno running `supervisor/main.ts`). */
  command?: string[];
  /** Stop the heart (as SIGTERM would). main.ts wires the signals to it. */
  signal?: AbortSignal;
  /** Where the heart logs; default `heartLogger(config.log)` (LogTape's lines, without it). */
  log?: HeartLog;
  /** Called with each child's pid when it starts. */
  onChild?: (pid: number) => void;
  /** Called when a child has exited. */
  onExit?: (pid: number, status: Deno.CommandStatus) => void;
  /** Window in which restarts count against `maxRestarts`; default ten minutes. */
  windowMs?: number;
  /** Grace for the supervisor to stop after SIGTERM before SIGKILL; default 20 s. */
  stopGraceMs?: number;
  /** Restart delay: `minMs · 2^(n-1)`, capped at `maxMs`, ±20 % jitter. */
  backoff?: { minMs: number; maxMs: number };
  /**
   * Restart delay after the supervisor exited 3 (the database unreachable or its migrations
   * refused): the same doubling from 15 s to 5 min by default. These restarts never count
   * against `maxRestarts`: the heart waits for the database (or the operator) as long as it
   * takes, without a restart storm.
   */
  databaseBackoff?: { minMs: number; maxMs: number };
  clock?: Clock;
  /** systemd notifications (default: from `NOTIFY_SOCKET`, a no-op without it). */
  notify?: SdNotifier;
  /**
   * Runs once the database is up, before the first supervisor (`deno task demo` checks the
   * database's mode, seeds it and starts its simulated venues here); its `env` is added to the
   * supervisor's, and `stop` runs before the database stops. A {@linkcode ConfigError} it throws
   * ends the heart with exit 2, like an invalid configuration.
   */
  prepare?: (
    context: PrepareContext,
  ) => Promise<{ env: Record<string, string>; stop(): Promise<void> }>;
}

/** What {@linkcode HeartOptions.prepare} gets from the heart. */
export interface PrepareContext {
  /** The database the supervisor will use (it carries the password: never log it). */
  databaseUrl: string;
  /** The embedded server, when the heart runs one (absent with `DATABASE_URL`). */
  embedded: EmbeddedDb | undefined;
  /** Base URL of the supervisor's status server, e.g. `http://127.0.0.1:7070`. */
  statusUrl: string;
}

const SUPERVISOR = new URL("./main.ts", import.meta.url).href;

/**
 * The V8 flags of the supervisor process (process-wide: its main thread and every actor's
 * worker). Each isolate's young generation otherwise grows to V8's default cap while its modules
 * load (zod, postgres.js, LogTape, ...) and is never given back: capped at 1 MiB per semi-space
 * the default tree holds about 35 MiB less (6 actors, no venues reachable), with restart latency
 * (`bench/supervisor.ts` prints it under these flags and V8's defaults) and `/status` under wrk
 * unchanged within the noise. `--lite-mode` would save 20 MiB more but cost `/status` 35-50 %.
 */
export const SUPERVISOR_V8_FLAGS: readonly string[] = ["--max-semi-space-size=1"];

/** The command that runs the real supervisor process. */
export function supervisorCommand(): string[] {
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-cron",
    "--unstable-worker-options",
    `--v8-flags=${SUPERVISOR_V8_FLAGS.join(",")}`,
    SUPERVISOR,
  ];
}

/** Restart delay before the `n`-th restart (1-based) within the window, with ±20 % jitter. */
export function heartBackoff(n: number, b: { minMs: number; maxMs: number }): number {
  return backoffDelay(n, { baseMs: b.minMs, maxMs: b.maxMs });
}

/** Where to ping a server bound to `host` (a wildcard address is reached on loopback). */
export function healthzUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `http://${h.includes(":") ? `[${h}]` : h}:${port}/healthz`;
}

/** One process, named by pid and kernel start time (so a reused pid is never mistaken for it). */
interface ProcessRef {
  pid: number;
  start: string;
}

function ref(pid: number): ProcessRef | undefined {
  const start = processStartTime(pid);
  return start === undefined ? undefined : { pid, start };
}

function running(p: ProcessRef | undefined): p is ProcessRef {
  return p !== undefined && typeof p.pid === "number" && processStartTime(p.pid) === p.start;
}

/**
 * Stops a supervisor left running by a heart that was killed: the state file names a dead heart
 * and a live child. Returns the pid it stopped, if any.
 */
export async function stopOrphan(
  stateFile: string,
  graceMs: number,
  log?: Pick<HeartLog, "warn">,
): Promise<number | undefined> {
  let state: { heart?: ProcessRef; child?: ProcessRef };
  try {
    state = JSON.parse(await Deno.readTextFile(stateFile));
  } catch {
    return undefined;
  }
  if (running(state.heart) && state.heart.pid !== Deno.pid) return undefined; // not orphaned
  const orphan = state.child;
  if (!running(orphan)) return undefined;
  log?.warn("Stopping the supervisor (pid {pid}) left running by a heart that died", {
    pid: orphan.pid,
  });
  const signal = (sig: Deno.Signal) => {
    try {
      Deno.kill(orphan.pid, sig);
    } catch { /* gone */ }
  };
  signal("SIGTERM");
  const deadline = performance.now() + graceMs;
  while (running(orphan)) {
    if (performance.now() > deadline) {
      signal("SIGKILL");
      break;
    }
    await sleep(25);
  }
  const killedBy = performance.now() + 5_000;
  while (running(orphan) && performance.now() < killedBy) {
    await sleep(25);
  }
  return orphan.pid;
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch { /* already gone */ }
}

/** Runs the heart until a clean stop (0) or until it gives up (non-zero; see the exit codes). */
export async function runHeart(o: HeartOptions): Promise<number> {
  const { config } = o;
  const log = o.log ?? heartLogger(config.log);
  const clock = o.clock ?? systemClock;
  const windowMs = o.windowMs ?? 600_000;
  const graceMs = o.stopGraceMs ?? 20_000;
  const backoff = o.backoff ?? { minMs: 250, maxMs: 30_000 };

  let stopping = false;
  let child: Deno.ChildProcess | undefined;
  let wake = () => {};
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log.info("Stopping: asking the supervisor to stop");
    wake();
    const c = child;
    if (!c) return;
    kill(c, "SIGTERM");
    const t = setTimeout(() => {
      log.warn("Supervisor did not stop within {ms} ms; killing it", { ms: graceMs });
      kill(c, "SIGKILL");
    }, graceMs);
    c.status.finally(() => clearTimeout(t));
  };
  if (o.signal?.aborted) return HEART_EXIT.ok;
  o.signal?.addEventListener("abort", stop);

  let embedded: EmbeddedDb | undefined;
  let stopPrepared: (() => Promise<void>) | undefined;
  let code: number = HEART_EXIT.ok;
  const stateFile = `${resolve(config.dataDir)}/heart.json`;
  const me = ref(Deno.pid);
  const notify = o.notify ?? startSdNotify({ log: log.getChild("sd_notify") });
  try {
    await Deno.mkdir(resolve(config.dataDir), { recursive: true });
    // Before the database changes hands, so the orphan can still flush into it.
    await stopOrphan(stateFile, graceMs, log);
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      try {
        embedded = await startEmbeddedDb({
          dir: config.pgDir,
          port: config.pgPort,
          log,
          connectTimeoutMs: config.dbConnectTimeoutMs,
        });
      } catch (e) {
        const message = redactText(errorInfo(e).message);
        log.fatal("Cannot start the embedded database: {error}", { error: message });
        return HEART_EXIT.database;
      }
      databaseUrl = embedded.url;
    }
    const port = config.http.port || freePort();
    const ping = healthzUrl(config.http.host, port);
    let prepared: Awaited<ReturnType<NonNullable<HeartOptions["prepare"]>>> | undefined;
    try {
      prepared = o.prepare
        ? await o.prepare({ databaseUrl, embedded, statusUrl: new URL(ping).origin })
        : undefined;
    } catch (e) {
      const error = redactText(errorInfo(e).message);
      if (e instanceof ConfigError) {
        log.fatal("Refusing to start: {error}", { error });
        console.error(error); // as the supervisor says its own refusals
        return HEART_EXIT.config;
      }
      log.fatal("Cannot prepare the supervisor's services: {error}", { error });
      return HEART_EXIT.gaveUp;
    }
    stopPrepared = prepared?.stop;
    const extraEnv = prepared?.env ?? {};
    const command = o.command ?? supervisorCommand();
    let restarts: number[] = [];
    let databaseExits = 0;
    const databaseBackoff = o.databaseBackoff ?? { minMs: 15_000, maxMs: 300_000 };
    /** Waits `ms`, or less when the heart is stopped meanwhile. */
    const pause = async (ms: number) => {
      await new Promise<void>((resolve) => {
        if (stopping) return resolve(); // stopped while the child was exiting
        const t = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = () => {};
    };

    // The node's instance (supervisor/cluster.ts): one per heart, so a supervisor it restarts
    // takes the node's row and leases back at once.
    const instance = Deno.env.get("RECIO_NODE_INSTANCE") ?? crypto.randomUUID();
    while (!stopping) {
      const c = new Deno.Command(command[0]!, {
        args: command.slice(1),
        env: {
          ...extraEnv,
          RECIO_NODE_INSTANCE: instance,
          DATABASE_URL: databaseUrl,
          RECIO_HTTP_PORT: String(port),
          RECIO_HEART: "1",
          // Its own server: the supervisor generates each user's role password beside it.
          ...(embedded ? { RECIO_DB_USERS_GENERATE: "1" } : {}),
        },
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      child = c;
      await Deno.writeTextFile(stateFile, JSON.stringify({ heart: me, child: ref(c.pid) }));
      o.onChild?.(c.pid);
      notify.readyWhenHealthy(ping); // READY=1 once, when the first supervisor answers
      log.info("Supervisor process started (pid {pid}, port {port})", { pid: c.pid, port });
      const watcher = watchHealthz(c, ping, config.heart, clock, log);
      const status = await c.status;
      await watcher.stop();
      child = undefined;
      o.onExit?.(c.pid, status);
      if (stopping) break;
      if (status.success) {
        log.info("Supervisor exited cleanly; the heart stops too");
        break;
      }
      if (status.code === CHILD_CONFIG_EXIT) {
        log.fatal("Supervisor refused its configuration (exit 2); not restarting it");
        code = HEART_EXIT.config;
        break;
      }
      if (status.code === CHILD_DATABASE_EXIT) {
        databaseExits++;
        const delay = heartBackoff(databaseExits, databaseBackoff);
        log.error(
          "Supervisor cannot use the database (exit 3); restart {n} in {delay} s",
          { n: databaseExits, delay: Math.round(delay / 1000) },
        );
        await pause(delay);
        continue;
      }
      databaseExits = 0;
      const now = clock.monotonic();
      restarts = [now, ...restarts.filter((t) => t > now - windowMs)];
      if (restarts.length > config.heart.maxRestarts) {
        log.fatal("Supervisor failed {n} times within {window} s; giving up", {
          n: restarts.length,
          window: windowMs / 1000,
        });
        code = HEART_EXIT.gaveUp;
        break;
      }
      const delay = heartBackoff(restarts.length, backoff);
      log.error(
        "Supervisor exited abnormally (code {code}, signal {signal}); restart {n} in {delay} ms",
        { code: status.code, signal: status.signal, n: restarts.length, delay: Math.round(delay) },
      );
      await pause(delay);
    }
  } finally {
    o.signal?.removeEventListener("abort", stop);
    await Deno.remove(stateFile).catch(() => {});
    await stopPrepared?.().catch((e) =>
      log.error("Cannot stop the prepared services: {error}", { error: errorInfo(e).message })
    );
    await embedded?.stop();
    await notify.stop();
  }
  return code;
}
