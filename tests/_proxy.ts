/**
 * A TCP proxy on 127.0.0.1 in front of the real PostgreSQL server, so tests can cut the database
 * off (a real outage as the client sees it: connections reset, new ones refused) and bring it
 * back on the same port.
 *
 * @module
 */

/** A proxy that can be cut and restored. */
export class TcpProxy implements AsyncDisposable {
  #listener: Deno.Listener | undefined;
  #conns = new Set<Deno.Conn>();
  #target: { hostname: string; port: number };
  #port = 0;
  #accepting: Promise<void> | undefined;
  /** While set, bytes wait here in both directions (connections stay open). */
  #paused: PromiseWithResolvers<void> | undefined;

  constructor(target: { hostname: string; port: number }) {
    this.#target = target;
  }

  /** The proxy for the server of a postgres URL; returns the proxy and the URL through it. */
  static async forUrl(url: string): Promise<{ proxy: TcpProxy; url: string }> {
    const u = new URL(url);
    const proxy = new TcpProxy({
      hostname: u.hostname || "127.0.0.1",
      port: Number(u.port || 5432),
    });
    await proxy.up();
    u.hostname = "127.0.0.1";
    u.port = String(proxy.port);
    return { proxy, url: u.toString() };
  }

  get port(): number {
    return this.#port;
  }

  /** Starts (or restores) listening, on the same port as before. */
  up(): Promise<void> {
    if (this.#listener) return Promise.resolve();
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: this.#port });
    this.#port = (this.#listener.addr as Deno.NetAddr).port;
    const listener = this.#listener;
    this.#accepting = (async () => {
      for await (const conn of listener) this.#pipe(conn);
    })().catch(() => {});
    return Promise.resolve();
  }

  /** Cuts every connection and refuses new ones. */
  async down(): Promise<void> {
    this.#listener?.close();
    this.#listener = undefined;
    await this.#accepting;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#conns.clear();
  }

  /** Holds every byte in both directions, keeping connections open: a server gone silent. */
  pause(): void {
    this.#paused ??= Promise.withResolvers<void>();
  }

  /** Lets the held bytes through and forwards again. */
  resume(): void {
    this.#paused?.resolve();
    this.#paused = undefined;
  }

  #gate(): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream({
      transform: async (chunk, out) => {
        while (this.#paused) await this.#paused.promise;
        out.enqueue(chunk);
      },
    });
  }

  async #pipe(client: Deno.Conn): Promise<void> {
    let server: Deno.Conn;
    try {
      server = await Deno.connect(this.#target);
    } catch {
      client.close();
      return;
    }
    this.#conns.add(client);
    this.#conns.add(server);
    const close = () => {
      for (const c of [client, server]) {
        this.#conns.delete(c);
        try {
          c.close();
        } catch { /* already closed */ }
      }
    };
    // When either side ends, end both (a half-open proxy would hide an outage).
    await Promise.race([
      client.readable.pipeThrough(this.#gate()).pipeTo(server.writable).catch(() => {}),
      server.readable.pipeThrough(this.#gate()).pipeTo(client.writable).catch(() => {}),
    ]);
    close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.resume();
    await this.down();
  }
}
