/**
 * systemd notifications from the heart (`Type=notify`, `WatchdogSec=`): `READY=1` once the
 * supervisor first answers `/healthz`, `WATCHDOG=1` every third of `WATCHDOG_USEC` for as long as
 * the heart's own event loop runs, `STOPPING=1` on a clean stop. Nothing happens without
 * `NOTIFY_SOCKET`.
 *
 * Deno 2.9.6 cannot send on a unix datagram socket (`Deno.listenDatagram` with `unixgram` fails
 * inside the runtime), so the messages go through the `systemd-notify` tool; the unit therefore
 * sets `NotifyAccess=all` (the tool is a child of the heart).
 *
 * @module
 */
import { type HeartLog, heartLogger } from "./heart_log.ts";
import { pingHealthz } from "./heart_ping.ts";

/** A running notifier. */
export interface SdNotifier {
  /** Whether notifications are sent (NOTIFY_SOCKET set). */
  readonly enabled: boolean;
  /** Sends READY=1 once `healthUrl` first answers 2xx. */
  readyWhenHealthy(healthUrl: string): void;
  /** Sends STOPPING=1 and stops the timers. */
  stop(): Promise<void>;
}

/** What {@linkcode startSdNotify} reads and runs (injected in tests). */
export interface SdNotifyOptions {
  env?: Record<string, string | undefined>;
  /** Sends one message; default runs `systemd-notify <message>`. */
  send?: (message: string) => Promise<void>;
  /** Where a failed notification is said (default: `recio.heart.sd_notify`, see `heart_log.ts`). */
  log?: Pick<HeartLog, "warn">;
  /** How often READY polls the health URL. */
  pollMs?: number;
}

async function systemdNotify(message: string): Promise<void> {
  const out = await new Deno.Command("systemd-notify", {
    args: [message],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`systemd-notify ${message}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Starts the watchdog pings; a no-op notifier when `NOTIFY_SOCKET` is not set. */
export function startSdNotify(options: SdNotifyOptions = {}): SdNotifier {
  const env = options.env ?? Deno.env.toObject();
  const log = options.log ?? heartLogger({ format: "auto", level: "info" }, ["heart", "sd_notify"]);
  if (!env.NOTIFY_SOCKET) {
    return { enabled: false, readyWhenHealthy: () => {}, stop: () => Promise.resolve() };
  }
  const send = options.send ?? systemdNotify;
  let failed = false;
  const safeSend = (m: string) =>
    send(m).catch((e) => {
      if (!failed) {
        log.warn("Cannot notify systemd ({message}): {error}", { message: m, error: String(e) });
      }
      failed = true;
    });
  const usec = Number(env.WATCHDOG_USEC);
  const pid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : Deno.pid;
  let watchdog: ReturnType<typeof setInterval> | undefined;
  if (Number.isFinite(usec) && usec > 0 && pid === Deno.pid) {
    watchdog = setInterval(() => void safeSend("WATCHDOG=1"), Math.max(500, usec / 3_000));
  }
  let poll: ReturnType<typeof setInterval> | undefined;
  let ready = false;
  return {
    enabled: true,
    readyWhenHealthy(healthUrl: string) {
      if (ready || poll !== undefined) return;
      poll = setInterval(async () => {
        if (!(await pingHealthz(healthUrl, 2_000)) || ready) return; // not up yet
        ready = true;
        clearInterval(poll);
        poll = undefined;
        await safeSend("READY=1");
      }, options.pollMs ?? 250);
    },
    async stop() {
      clearInterval(watchdog);
      clearInterval(poll);
      await safeSend("STOPPING=1");
    },
  };
}
