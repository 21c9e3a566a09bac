/**
 * The external HTTP load generator of the benchmarks: `wrk` (Debian package `wrk`), run as a
 * subprocess so that the client does not share the server's event loop (an in-process `fetch`
 * client was itself the bottleneck and made every server look alike). Found on `PATH`; when it is
 * missing and we are root with `apt-get`, installed once; otherwise {@linkcode findWrk} says why
 * and the caller skips its rows.
 *
 * @module
 */

/** What one `wrk` run measured. */
export interface WrkResult {
  requests: number;
  reqPerSec: number;
  /** Latency percentiles in ms (`--latency`). */
  p50Ms: number;
  p99Ms: number;
  /** Responses that were not 2xx or 3xx. */
  non2xx: number;
  /** Socket errors (connect, read, write, timeout) summed. */
  socketErrors: number;
}

/** How a load is shaped. */
export interface WrkLoad {
  threads: number;
  connections: number;
  seconds: number;
}

/** The path of an executable `name` on `PATH`, or undefined. */
async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    const path = `${dir}/${name}`;
    try {
      const st = await Deno.stat(path);
      if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * `wrk`'s path, installing the Debian package when it is missing and we may; otherwise the reason
 * it is not available.
 */
export async function findWrk(): Promise<{ path: string } | { missing: string }> {
  const found = await onPath("wrk");
  if (found) return { path: found };
  const apt = await onPath("apt-get");
  if (Deno.uid() !== 0 || !apt) {
    return { missing: "wrk is not on PATH and cannot be installed here (needs root and apt-get)" };
  }
  console.error("bench/http: wrk is not on PATH; running apt-get install -y wrk ...");
  const out = await new Deno.Command(apt, {
    args: ["install", "-y", "-q", "wrk"],
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output().catch((e) => ({ success: false, stderr: new TextEncoder().encode(String(e)) }));
  const installed = await onPath("wrk");
  if (out.success && installed) return { path: installed };
  const why = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1) ?? "";
  return { missing: `apt-get install -y wrk failed: ${why.slice(0, 200)}` };
}

/** Microseconds per unit (an integer, so `52.00us` is exactly 0.052 ms). */
const UNIT_US: Record<string, number> = { us: 1, ms: 1_000, s: 1_000_000, m: 60_000_000 };

/** A `wrk` duration (`250.00us`, `1.20ms`, `2.00s`) in ms. */
export function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`Cannot read wrk duration "${text}"`);
  return (Number(m[1]) * UNIT_US[m[2]!]!) / 1_000;
}

/** Reads `wrk --latency` output; throws naming the line it could not find. */
export function parseWrk(text: string): WrkResult {
  const need = (re: RegExp, what: string) => {
    const m = re.exec(text);
    if (!m) throw new Error(`Cannot read wrk output: no ${what} in ${JSON.stringify(text)}`);
    return m;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: Number(need(/(\d+) requests in /, "request count")[1]),
    reqPerSec: Number(need(/Requests\/sec:\s+([\d.]+)/, "Requests/sec")[1]),
    p50Ms: durationMs(need(/^\s*50%\s+(\S+)/m, "50% latency")[1]!),
    p99Ms: durationMs(need(/^\s*99%\s+(\S+)/m, "99% latency")[1]!),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((s, n) => s + Number(n), 0) : 0,
  };
}

/** Runs `wrk --latency` against `url` and reads its report. */
export async function runWrk(wrk: string, url: string, load: WrkLoad): Promise<WrkResult> {
  const out = await new Deno.Command(wrk, {
    args: [
      `-t${load.threads}`,
      `-c${load.connections}`,
      `-d${load.seconds}s`,
      "--latency",
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`wrk against ${url} failed (exit ${out.code}): ${err || text}`);
  }
  return parseWrk(text);
}
