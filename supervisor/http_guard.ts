/**
 * Time limits for the status server's connections, which `Deno.serve` does not have (it keeps a
 * half-sent request open for good: denoland/deno#3515). The guard owns the TCP port and relays
 * each connection to the real server on a Unix socket of its own, watching the bytes:
 *
 * - **header timeout**: bytes of a request that is not complete (no blank line ending its
 *   headers, no answer from the server) for `headerTimeoutMs` (10 s) close the connection, so a
 *   client that sends headers a byte at a time cannot hold it;
 * - **idle timeout**: a connection on which nothing moved either way for `idleTimeoutMs` (60 s)
 *   is closed (an event stream sends a heartbeat every 15 s, so it stays open);
 * - **at most `maxConnections`** (1,000) at a time; beyond, new ones are closed at once.
 *
 * Closed connections are counted by reason (`header_timeout`, `idle_timeout`, `too_many`).
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

/**
 * Index just past the first blank line (CR LF CR LF) ending a header block in `chunk`, or -1;
 * `tail` is the last (up to 3) bytes seen before `chunk`, for a blank line split across reads.
 */
export function headerEnd(tail: Uint8Array, chunk: Uint8Array): number {
  const isEnd = (b: (i: number) => number | undefined, i: number) =>
    b(i) === 13 && b(i + 1) === 10 && b(i + 2) === 13 && b(i + 3) === 10;
  if (tail.length > 0) {
    const joined = new Uint8Array([...tail, ...chunk.subarray(0, 3)]);
    for (let i = 0; i < tail.length; i++) {
      if (isEnd((k) => joined[k], i)) return i + 4 - tail.length;
    }
  }
  for (let i = chunk.indexOf(13); i >= 0; i = chunk.indexOf(13, i + 1)) {
    if (isEnd((k) => chunk[k], i)) return i + 4;
  }
  return -1;
}

/** The last (up to) 3 bytes of `tail` followed by `chunk`. */
function lastThree(tail: Uint8Array, chunk: Uint8Array): Uint8Array {
  if (chunk.length >= 3) return chunk.slice(chunk.length - 3);
  return new Uint8Array([...tail, ...chunk]).slice(-3);
}

/** Serves `handler` behind the guard. */
export async function serveGuarded(
  handler: Deno.ServeHandler<Deno.UnixAddr>,
  o: GuardOptions,
): Promise<GuardedServer> {
  const headerTimeoutMs = o.headerTimeoutMs ?? 10_000;
  const idleTimeoutMs = o.idleTimeoutMs ?? 60_000;
  const maxConnections = o.maxConnections ?? 1_000;
  const dir = await Deno.makeTempDir({ prefix: "recio-http-" });
  await Deno.chmod(dir, 0o700);
  const path = `${dir}/http.sock`;
  const inner = Deno.serve({
    transport: "unix",
    path,
    onListen: () => {},
    ...(o.onError ? { onError: o.onError } : {}),
  }, handler);
  const listener = Deno.listen({ hostname: o.hostname, port: o.port, transport: "tcp" });
  const closed = { header_timeout: 0, idle_timeout: 0, too_many: 0 };
  const open = new Set<() => void>();
  let stopping = false;

  const relay = async (client: Deno.TcpConn) => {
    let upstream: Deno.UnixConn;
    try {
      upstream = await Deno.connect({ transport: "unix", path });
    } catch {
      client.close();
      return;
    }
    let lastActivity = performance.now();
    /** When the bytes of a request not yet complete began arriving. */
    let partialSince: number | undefined;
    let tail: Uint8Array = new Uint8Array(0);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(watch);
      open.delete(end);
      for (const c of [client, upstream]) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
    };
    open.add(end);
    const watch = setInterval(() => {
      const now = performance.now();
      if (partialSince !== undefined && now - partialSince > headerTimeoutMs) {
        closed.header_timeout++;
        end();
      } else if (now - lastActivity > idleTimeoutMs) {
        closed.idle_timeout++;
        end();
      }
    }, Math.max(50, Math.min(1_000, headerTimeoutMs / 4, idleTimeoutMs / 4)));
    const pump = async (from: Deno.Conn, to: Deno.Conn, fromClient: boolean) => {
      const buf = new Uint8Array(64 * 1024);
      try {
        while (true) {
          const n = await from.read(buf);
          if (n === null) break;
          const chunk = buf.subarray(0, n);
          lastActivity = performance.now();
          if (fromClient) {
            partialSince ??= lastActivity;
            const at = headerEnd(tail, chunk);
            // Headers complete: the request is now the server's to answer (a body that
            // follows is bounded by the idle timeout and the server's answer).
            if (at >= 0) partialSince = at < chunk.length ? lastActivity : undefined;
            tail = lastThree(tail, chunk);
          } else {
            partialSince = undefined; // the server answered what it was sent
          }
          let written = 0;
          while (written < n) written += await to.write(chunk.subarray(written));
        }
      } catch { /* either side went away */ }
      end();
    };
    await Promise.all([pump(client, upstream, true), pump(upstream, client, false)]);
  };

  const accepting = (async () => {
    for await (const conn of listener) {
      if (stopping) {
        conn.close();
        continue;
      }
      if (open.size >= maxConnections) {
        closed.too_many++;
        conn.close();
        continue;
      }
      conn.setNoDelay(true);
      relay(conn).catch(() => {});
    }
  })().catch(() => {});

  const addr = listener.addr as Deno.NetAddr;
  o.onListen?.(addr);
  let finishing: Promise<void> | undefined;
  const shutdown = () =>
    finishing ??= (async () => {
      stopping = true;
      listener.close();
      await accepting;
      for (const end of [...open]) end();
      await inner.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
  return {
    addr,
    closed,
    get connections() {
      return open.size;
    },
    shutdown,
    get finished() {
      return inner.finished.then(() => finishing);
    },
  };
}
