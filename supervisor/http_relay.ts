/**
 * The guard's relay (`http_guard.ts`): owns the TCP port and relays each connection to the real
 * server on a Unix socket, watching the bytes:
 *
 * - **header timeout**: bytes of a request that is not complete (no blank line ending its
 *   headers, no answer from the server) for `headerTimeoutMs` close the connection, so a client
 *   that sends headers a byte at a time cannot hold it;
 * - **idle timeout**: a connection on which nothing moved either way for `idleTimeoutMs` is closed;
 * - **at most `maxConnections`** at a time; beyond, new ones are closed at once.
 *
 * Closed connections are counted by reason; `onChange` is called whenever a count or the number
 * of open connections changes. `http_guard_worker.ts` runs it on a thread of its own.
 *
 * @module
 */

/** Options of {@linkcode startRelay}. */
export interface RelayOptions {
  hostname: string;
  port: number;
  /** The Unix socket of the real server. */
  path: string;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  onChange?: () => void;
}

/** Connections closed by the guard, by reason. */
export type ClosedCounts = Record<"header_timeout" | "idle_timeout" | "too_many", number>;

/** A running relay. */
export interface Relay {
  addr: Deno.NetAddr;
  closed: ClosedCounts;
  /** Open client connections. */
  readonly connections: number;
  /** Stops accepting and closes every connection. */
  shutdown(): Promise<void>;
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
export function lastThree(tail: Uint8Array, chunk: Uint8Array): Uint8Array {
  if (chunk.length >= 3) return chunk.slice(chunk.length - 3);
  return new Uint8Array([...tail, ...chunk]).slice(-3);
}

/** Whether `chunk` ends with the blank line (CR LF CR LF) that ends a header block. */
function endsHeaders(chunk: Uint8Array): boolean {
  const n = chunk.length;
  return n >= 4 && chunk[n - 1] === 10 && chunk[n - 2] === 13 && chunk[n - 3] === 10 &&
    chunk[n - 4] === 13;
}

const NO_TAIL = new Uint8Array(0);

/** What the watch knows of one relayed connection. */
interface Watched {
  lastActivity: number;
  /** When the bytes of a request not yet complete began arriving. */
  partialSince: number | undefined;
  end(): void;
}

/** Listens on `o.hostname:o.port` (throws when it cannot) and relays every connection. */
export function startRelay(o: RelayOptions): Relay {
  const { path, headerTimeoutMs, idleTimeoutMs, maxConnections } = o;
  const listener = Deno.listen({ hostname: o.hostname, port: o.port, transport: "tcp" });
  const closed: ClosedCounts = { header_timeout: 0, idle_timeout: 0, too_many: 0 };
  const open = new Set<Watched>();
  let stopping = false;

  // One timer watches every connection (not one per connection).
  const watch = setInterval(() => {
    const now = performance.now();
    for (const w of open) {
      if (w.partialSince !== undefined && now - w.partialSince > headerTimeoutMs) {
        closed.header_timeout++;
        w.end();
      } else if (now - w.lastActivity > idleTimeoutMs) {
        closed.idle_timeout++;
        w.end();
      }
    }
  }, Math.max(50, Math.min(1_000, headerTimeoutMs / 4, idleTimeoutMs / 4)));

  const relay = async (client: Deno.TcpConn) => {
    let upstream: Deno.UnixConn;
    try {
      upstream = await Deno.connect({ transport: "unix", path });
    } catch {
      client.close();
      return;
    }
    let tail: Uint8Array = NO_TAIL;
    let ended = false;
    const w: Watched = {
      lastActivity: performance.now(),
      partialSince: undefined,
      end: () => {
        if (ended) return;
        ended = true;
        open.delete(w);
        o.onChange?.();
        for (const c of [client, upstream]) {
          try {
            c.close();
          } catch { /* already closed */ }
        }
      },
    };
    open.add(w);
    o.onChange?.();
    const pump = async (from: Deno.Conn, to: Deno.Conn, fromClient: boolean) => {
      const buf = new Uint8Array(64 * 1024);
      try {
        while (true) {
          const n = await from.read(buf);
          if (n === null) break;
          const chunk = buf.subarray(0, n);
          const now = performance.now();
          w.lastActivity = now;
          if (!fromClient) {
            w.partialSince = undefined; // the server answered what it was sent
          } else if (tail.length === 0 && endsHeaders(chunk)) {
            // The common case: whole requests in one read, nothing partial after them.
            w.partialSince = undefined;
          } else {
            w.partialSince ??= now;
            const at = headerEnd(tail, chunk);
            // Headers complete: the request is now the server's to answer (a body that
            // follows is bounded by the idle timeout and the server's answer).
            if (at >= 0) w.partialSince = at < chunk.length ? now : undefined;
            tail = w.partialSince === undefined ? NO_TAIL : lastThree(tail, chunk);
          }
          let written = 0;
          while (written < n) written += await to.write(chunk.subarray(written));
        }
      } catch { /* either side went away */ }
      w.end();
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
        o.onChange?.();
        continue;
      }
      conn.setNoDelay(true);
      relay(conn).catch(() => {});
    }
  })().catch(() => {});

  let finishing: Promise<void> | undefined;
  return {
    addr: listener.addr as Deno.NetAddr,
    closed,
    get connections() {
      return open.size;
    },
    shutdown: () =>
      finishing ??= (async () => {
        stopping = true;
        listener.close();
        await accepting;
        clearInterval(watch);
        for (const w of [...open]) w.end();
      })(),
  };
}
