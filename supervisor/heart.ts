/**
 * The heart (after Erlang's `heart`): the process-level rung of the escalation ladder. A Web
 * Worker spinning in a busy loop cannot be stopped and one worker's out-of-memory ends the whole
 * process, so the supervisor runs as a child process of this small loop, which
 * - owns the embedded database (when no `DATABASE_URL` is set), so it survives supervisor
 *   restarts;
 * - restarts the supervisor with exponential backoff and jitter when it exits abnormally, up to
 *   `maxRestarts` within ten minutes, then exits non-zero so systemd or the container restarts it;
 * - pings the supervisor's `/healthz` and kills it (SIGKILL) when it stops answering;
 * - on SIGINT/SIGTERM asks the supervisor to stop (SIGTERM), waits, stops the database, exits 0.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import { type EmbeddedDb, freePort, startEmbeddedDb } from "../lib/embedded_db.ts";
import { getLogger } from "../lib/log.ts";

export interface HeartOptions {
  config: Config;
  /** The supervisor command (default: this Deno running `supervisor/main.ts`). */
  command?: string[];
  /** Stop the heart (as SIGTERM would). Tests use it; main.ts wires the signals. */
  signal?: AbortSignal;
  /** Called with each child's pid when it starts. */
  onChild?: (pid: number) => void;
  /** Window in which restarts count against maxRestarts. */
  windowMs?: number;
  /** Grace for the supervisor to stop after SIGTERM. */
  stopGraceMs?: number;
}

const SUPERVISOR = new URL("./main.ts", import.meta.url).href;

/** Runs the heart until a clean stop (0) or until it gives up (1). */
export async function runHeart(o: HeartOptions): Promise<number> {
  const log = getLogger("heart");
  const { config } = o;
  let embedded: EmbeddedDb | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedDb({ dir: config.pgDir, port: config.pgPort, log });
    databaseUrl = embedded.url;
    log.info("Embedded PostgreSQL on 127.0.0.1:{port} ({dir})", {
      port: embedded.port,
      dir: embedded.dir,
    });
  }
  const port = config.http.port || freePort();
  const command = o.command ?? [
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-cron",
    "--unstable-worker-options",
    SUPERVISOR,
  ];
  const windowMs = o.windowMs ?? 600_000;
  let restarts: number[] = [];
  let stopping = false;
  let child: Deno.ChildProcess | undefined;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    try {
      child?.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  o.signal?.addEventListener("abort", stop);

  let code = 0;
  try {
    for (let attempt = 0;; attempt++) {
      if (stopping) break;
      child = new Deno.Command(command[0]!, {
        args: command.slice(1),
        env: {
          DATABASE_URL: databaseUrl,
          RECIO_HTTP_PORT: String(port),
          RECIO_HEART: "1",
        },
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      o.onChild?.(child.pid);
      log.info("Supervisor process started (pid {pid})", { pid: child.pid });
      const pinger = watch(child, `http://${config.http.host}:${port}/healthz`, config.heart);
      const status = await child.status;
      pinger.stop();
      if (stopping) break;
      if (status.success) {
        log.info("Supervisor exited cleanly");
        break;
      }
      const now = Date.now();
      restarts = [now, ...restarts.filter((t) => t > now - windowMs)];
      log.error("Supervisor exited abnormally (code {code}, signal {signal}); restart {n}", {
        code: status.code,
        signal: status.signal,
        n: restarts.length,
      });
      if (restarts.length > config.heart.maxRestarts) {
        log.fatal("Giving up after {n} restarts within {window} s", {
          n: restarts.length - 1,
          window: windowMs / 1000,
        });
        code = 1;
        break;
      }
      const base = Math.min(30_000, 250 * 2 ** Math.min(restarts.length - 1, 10));
      const delay = base * (0.8 + Math.random() * 0.4);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        o.signal?.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    if (stopping && child) await waitOrKill(child, o.stopGraceMs ?? 20_000);
  } finally {
    o.signal?.removeEventListener("abort", stop);
    await embedded?.stop();
  }
  return code;
}

/** Pings `/healthz`; SIGKILLs the child once it answered and then went quiet for `hangMs`. */
function watch(
  child: Deno.ChildProcess,
  url: string,
  h: { pingMs: number; hangMs: number },
): { stop(): void } {
  const log = getLogger("heart");
  let lastOk: number | undefined;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(Math.min(h.pingMs, 5_000)) });
      await r.body?.cancel();
      if (r.ok) lastOk = Date.now();
    } catch { /* not answering */ }
    busy = false;
    if (lastOk !== undefined && Date.now() - lastOk > h.hangMs) {
      log.error("Supervisor stopped answering for {ms} ms; killing it", {
        ms: Date.now() - lastOk,
      });
      lastOk = undefined;
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  }, h.pingMs);
  return { stop: () => clearInterval(timer) };
}

async function waitOrKill(child: Deno.ChildProcess, graceMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      resolve();
    }, graceMs);
  });
  await Promise.race([child.status.then(() => {}), killed]);
  clearTimeout(timer);
  await child.status;
}
