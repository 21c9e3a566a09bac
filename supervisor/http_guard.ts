/**
 * Time limits for the status server's connections, which `Deno.serve` does not have (it keeps a
 * half-sent request open for good: denoland/deno#3515). The guard owns the TCP port and relays
 * each connection to the real server on a Unix socket of its own, watching the bytes
 * (`http_relay.ts`):
 *
 * - **header timeout**: bytes of a request that is not complete (no blank line ending its
 *   headers, no answer from the server) for `headerTimeoutMs` (10 s) close the connection, so a
 *   client that sends headers a byte at a time cannot hold it;
 * - **idle timeout**: a connection on which nothing moved either way for `idleTimeoutMs` (60 s)
 *   is closed (an event stream sends a heartbeat every 15 s, so it stays open);
 * - **at most `maxConnections`** (1,000) at a time; beyond, new ones are closed at once.
 *
 * The relay runs in a worker of its own (`http_guard_worker.ts`): copying the bytes is as much
 * JavaScript as answering the request, and on the main thread it competed with the handlers and
 * the supervision (`bench/http.ts` measures /status against a raw `Deno.serve`). Closed
 * connections are counted by reason (`header_timeout`, `idle_timeout`, `too_many`), as the worker
 * last reported them.
 *
 * @example
 * ```ts ignore
 * const server = await serveGuarded((_req) => new Response("ok"), { hostname: "127.0.0.1", port: 0 });
 * console.log(server.addr.port);
 * await server.shutdown();
 * ```
 *
 * @module
 */
import type { ClosedCounts } from "./http_relay.ts";
import type { GuardReport, GuardRequest } from "./http_guard_worker.ts";

export { headerEnd } from "./http_relay.ts";

/** Options of {@linkcode serveGuarded}. */
export interface GuardOptions {
  hostname: string;
  port: number;
  headerTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxConnections?: number;
  /** Called once the port is open. */
  onListen?: (addr: Deno.NetAddr) => void;
  onError?: (error: unknown) => Response | Promise<Response>;
}

/** A running guarded server. */
export interface GuardedServer {
  addr: Deno.NetAddr;
  /** Connections closed by the guard, by reason. */
  closed: Record<"header_timeout" | "idle_timeout" | "too_many", number>;
  /** Open client connections. */
  readonly connections: number;
  /** Stops accepting, closes every connection and the inner server. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

const WORKER = new URL("./http_guard_worker.ts", import.meta.url).href;

/** Serves `handler` behind the guard. */
export async function serveGuarded(
  handler: Deno.ServeHandler<Deno.UnixAddr>,
  o: GuardOptions,
): Promise<GuardedServer> {
  const dir = await Deno.makeTempDir({ prefix: "recio-http-" });
  await Deno.chmod(dir, 0o700);
  const path = `${dir}/http.sock`;
  const inner = Deno.serve({
    transport: "unix",
    path,
    onListen: () => {},
    ...(o.onError ? { onError: o.onError } : {}),
  }, handler);
  const closed: ClosedCounts = { header_timeout: 0, idle_timeout: 0, too_many: 0 };
  let connections = 0;
  const worker = new Worker(WORKER, { type: "module" });
  const send = (m: GuardRequest) => worker.postMessage(m);
  const stopped = Promise.withResolvers<void>();
  const listening = new Promise<Deno.NetAddr>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<GuardReport>) => {
      const m = e.data;
      if (m.type === "listening") resolve(m.addr);
      else if (m.type === "error") {
        const Known = (Deno.errors as unknown as Record<string, new (m: string) => Error>)[m.name];
        reject(Known ? new Known(m.message) : new Error(m.message));
      } else if (m.type === "counts") {
        Object.assign(closed, m.closed);
        connections = m.connections;
      } else if (m.type === "stopped") stopped.resolve();
    };
    worker.onerror = (e) => {
      e.preventDefault();
      const error = new Error(`The status server's guard failed: ${e.message}`);
      reject(error);
      stopped.resolve();
    };
  });
  send({
    type: "start",
    options: {
      hostname: o.hostname,
      port: o.port,
      path,
      headerTimeoutMs: o.headerTimeoutMs ?? 10_000,
      idleTimeoutMs: o.idleTimeoutMs ?? 60_000,
      maxConnections: o.maxConnections ?? 1_000,
    },
  });
  let addr: Deno.NetAddr;
  try {
    addr = await listening;
  } catch (error) {
    worker.terminate();
    await inner.shutdown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  o.onListen?.(addr);
  let finishing: Promise<void> | undefined;
  const shutdown = () =>
    finishing ??= (async () => {
      send({ type: "shutdown" });
      // The worker closes its listener and every connection; a stuck one is ended regardless.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        stopped.promise,
        new Promise<void>((r) => (timer = setTimeout(r, 5_000))),
      ]);
      clearTimeout(timer);
      worker.terminate();
      await inner.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
  return {
    addr,
    closed,
    get connections() {
      return connections;
    },
    shutdown,
    get finished() {
      return inner.finished.then(() => finishing);
    },
  };
}
