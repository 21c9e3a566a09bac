/**
 * Container health check: exits 0 when `GET /readyz` on this host answers 200, else 1.
 * `deno run --allow-net=127.0.0.1 --allow-env=RECIO_HTTP_PORT deploy/healthcheck.ts`
 *
 * @module
 */

/** Whether the status server at `port` reports ready. */
export async function isReady(port: string, timeoutMs = 4_000): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await r.body?.cancel();
    return r.status === 200;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  Deno.exit((await isReady(Deno.env.get("RECIO_HTTP_PORT") || "7070")) ? 0 : 1);
}
