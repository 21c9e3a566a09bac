/**
 * The heart's watch over the supervisor process ({@linkcode watchHealthz}) and its health ping:
 * one `GET` of the supervisor's `/healthz` over plain HTTP/1.1 on a TCP connection, answered when
 * the status line is 2xx. Not `fetch`, whose HTTP client (with its TLS set-up) costs a process
 * about 1.5 MiB RSS for good (measured in an idle one; `bench/supervisor.ts` prints the heart's
 * RSS); the supervisor is on this host and speaks HTTP/1.1, which is all this needs.
 *
 * @example
 * ```ts ignore
 * if (await pingHealthz("http://127.0.0.1:7070/healthz", 1_000)) console.log("up");
 * ```
 *
 * @module
 */
import type { Clock } from "../lib/clock.ts";
import type { HeartLog } from "./heart_log.ts";

/**
 * Whether `url` (an `http:` URL) answers a `GET` with a 2xx status within `timeoutMs`; false when
 * it refuses, closes, answers otherwise, or `signal` aborts first. Never throws.
 */
export async function pingHealthz(
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const u = new URL(url);
  const hostname = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(u.port || 80);
  let conn: Deno.TcpConn | undefined;
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort = () => {};
  const gaveUp = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    onAbort = () => resolve(false);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  const ask = async (): Promise<boolean> => {
    const c = await Deno.connect({ hostname, port });
    if (done) {
      c.close(); // gave up while connecting
      return false;
    }
    conn = c;
    const request = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
      "Connection: close\r\n\r\n";
    await c.write(new TextEncoder().encode(request));
    const buf = new Uint8Array(64);
    let head = "";
    while (!head.includes("\r\n") && head.length < 64) {
      const n = await c.read(buf);
      if (n === null) break;
      head += new TextDecoder().decode(buf.subarray(0, n));
    }
    return /^HTTP\/1\.[01] 2\d\d /.test(head);
  };
  try {
    if (signal?.aborted) return false;
    const answer = ask().catch(() => false);
    return await Promise.race([answer, gaveUp]);
  } finally {
    done = true;
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    try {
      conn?.close();
    } catch { /* closed by the peer's end */ }
  }
}

/** Pings `/healthz`; SIGKILLs the child once it answered and then went quiet for `hangMs`. */
export function watchHealthz(
  child: Deno.ChildProcess,
  url: string,
  h: { pingMs: number; hangMs: number },
  clock: Clock,
  log: HeartLog,
): { stop(): Promise<void> } {
  const abort = new AbortController();
  let lastOk: number | undefined;
  let inflight: Promise<void> | undefined;
  const ping = async () => {
    if (await pingHealthz(url, Math.min(h.pingMs, 5_000), abort.signal)) {
      lastOk = clock.monotonic();
    }
    if (abort.signal.aborted || lastOk === undefined) return;
    const silent = clock.monotonic() - lastOk;
    if (silent > h.hangMs) {
      log.error("Supervisor (pid {pid}) stopped answering for {ms} ms; killing it", {
        pid: child.pid,
        ms: Math.round(silent),
      });
      lastOk = undefined;
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  };
  const timer = setInterval(() => {
    inflight ??= ping().finally(() => (inflight = undefined));
  }, h.pingMs);
  return {
    async stop() {
      clearInterval(timer);
      abort.abort();
      await inflight;
    },
  };
}
