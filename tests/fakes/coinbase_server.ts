/**
 * A fake Coinbase for tests: a real WebSocket server on 127.0.0.1 (port 0) speaking the Advanced
 * Trade format at `/advanced` and the Exchange feed format at `/exchange` exactly as
 * exchange-protocols.md §A1/§A2 describe them (subscription acknowledgement, ticker snapshot then
 * updates, heartbeats, per-connection `sequence_num`, a subscribe deadline), plus the Exchange
 * candles endpoint `GET /products/{id}/candles` (§A3). Scriptable: ticks with given exchange
 * times, bursts, dropped connections, skipped sequence numbers, silence, malformed frames, and
 * per connection: frames lost on the way (their sequence numbers used), a stalled socket (frames
 * held, then released in order), a drop, raw frames. It records what clients sent. Stop it with `close()` or `await using`.
 *
 * @module
 */

/** A trade to send. */
export interface FakeTick {
  price: string;
  /** Exchange time, epoch ms. */
  timeMs: number;
  productId?: string;
}

/** A candle as the Exchange REST API returns it: [time s, low, high, open, close, volume]. */
export type FakeCandle = [number, number, number, number, number, number];

export interface FakeCoinbaseOptions {
  /** Close a connection that has not subscribed within this long (Coinbase: 5 s). */
  subscribeDeadlineMs?: number;
  /** Product of ticks without one. */
  productId?: string;
}

type Format = "advanced" | "exchange";

interface Conn {
  id: number;
  format: Format;
  socket: WebSocket;
  seq: number;
  /** channel → product ids */
  subs: Map<string, Set<string>>;
  tickerSent: boolean;
  deadline: ReturnType<typeof setTimeout> | undefined;
  /** Advanced Trade messages still to lose (sequence number used, frame not sent). */
  lose: number;
  /** While stalled, frames wait here (in order). */
  held: string[] | null;
}

/** What a client sent. */
export interface ReceivedMessage {
  connection: number;
  format: Format;
  message: unknown;
}

function iso(ms: number, digits: 6 | 9): string {
  const base = new Date(Math.floor(ms)).toISOString(); // ...SS.mmmZ
  const micros = Math.round((ms - Math.floor(ms)) * 1000);
  const frac = base.slice(20, 23) + String(micros).padStart(3, "0");
  return `${base.slice(0, 20)}${frac.padEnd(digits, "0")}Z`;
}

/** The fake server. */
export class FakeCoinbase implements AsyncDisposable {
  #server: Deno.HttpServer<Deno.NetAddr>;
  #conns = new Map<number, Conn>();
  #nextId = 1;
  #silent = false;
  #exchangeSeq = 1_000;
  #tradeId = 5_000;
  #heartbeatCounter = 100;
  #candles = new Map<string, FakeCandle[]>();
  #opts: Required<FakeCoinbaseOptions>;
  /** Every message clients sent, in order. */
  readonly received: ReceivedMessage[] = [];
  /** Every candle request, in order. */
  readonly candleRequests: URL[] = [];
  /** Connections accepted so far. */
  connectionsOpened = 0;
  /** Connections closed for missing the subscribe deadline. */
  deadlineCloses = 0;

  constructor(options: FakeCoinbaseOptions = {}) {
    this.#opts = {
      subscribeDeadlineMs: options.subscribeDeadlineMs ?? 5_000,
      productId: options.productId ?? "BTC-USD",
    };
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  get #base(): string {
    return `127.0.0.1:${this.#server.addr.port}`;
  }
  /** Advanced Trade WebSocket URL. */
  get advancedUrl(): string {
    return `ws://${this.#base}/advanced`;
  }
  /** Exchange feed WebSocket URL. */
  get exchangeUrl(): string {
    return `ws://${this.#base}/exchange`;
  }
  /** REST base URL (candles). */
  get restUrl(): string {
    return `http://${this.#base}`;
  }

  /** Open connections subscribed to `ticker` (for `productId`, default the fake's product). */
  subscribers(productId = this.#opts.productId): number {
    let n = 0;
    for (const c of this.#conns.values()) if (c.subs.get("ticker")?.has(productId)) n++;
    return n;
  }

  /** Open connections. */
  get openConnections(): number {
    return this.#conns.size;
  }

  /** Sends one ticker message per tick to every subscribed connection. */
  tick(ticks: FakeTick | readonly FakeTick[]): void {
    for (const t of Array.isArray(ticks) ? ticks : [ticks as FakeTick]) {
      const product = t.productId ?? this.#opts.productId;
      this.#tradeId++;
      this.#exchangeSeq += 2; // Exchange ticker sequences are book sequences: not contiguous.
      for (const c of this.#conns.values()) {
        if (!c.subs.get("ticker")?.has(product)) continue;
        if (c.format === "advanced") {
          const type = c.tickerSent ? "update" : "snapshot";
          c.tickerSent = true;
          this.#sendAt(c, {
            channel: "ticker",
            client_id: "",
            timestamp: iso(t.timeMs, 9),
            events: [{
              type,
              tickers: [{
                type: "ticker",
                product_id: product,
                price: t.price,
                volume_24_h: "15328.12345678",
                low_24_h: t.price,
                high_24_h: t.price,
                low_52_w: t.price,
                high_52_w: t.price,
                price_percent_chg_24_h: "0.5",
                best_bid: t.price,
                best_bid_quantity: "1.5",
                best_ask: t.price,
                best_ask_quantity: "0.5",
              }],
            }],
          });
        } else {
          this.#send(c, {
            type: "ticker",
            sequence: this.#exchangeSeq,
            product_id: product,
            price: t.price,
            open_24h: t.price,
            volume_24h: "9756.916611",
            low_24h: t.price,
            high_24h: t.price,
            volume_30d: "539862.627144",
            best_bid: t.price,
            best_bid_size: "0.024535",
            best_ask: t.price,
            best_ask_size: "0.062982",
            side: "buy",
            time: iso(t.timeMs, 6),
            trade_id: this.#tradeId,
            last_size: "0.000261",
          });
        }
      }
    }
  }

  /** Sends a heartbeat at exchange time `timeMs` to every connection subscribed to heartbeats. */
  heartbeat(timeMs: number): void {
    this.#heartbeatCounter++;
    for (const c of this.#conns.values()) {
      if (c.format === "advanced" && c.subs.has("heartbeats")) {
        const t = new Date(timeMs).toISOString().replace("T", " ").replace("Z", "");
        this.#sendAt(c, {
          channel: "heartbeats",
          client_id: "",
          timestamp: iso(timeMs, 9),
          events: [{
            current_time: `${t}000000 +0000 UTC m=+91717.525857105`,
            heartbeat_counter: this.#heartbeatCounter,
          }],
        });
      } else if (c.format === "exchange") {
        for (const product of c.subs.get("heartbeat") ?? []) {
          this.#send(c, {
            type: "heartbeat",
            sequence: this.#exchangeSeq,
            last_trade_id: this.#tradeId,
            product_id: product,
            time: iso(timeMs, 6),
          });
        }
      }
    }
  }

  /** The next Advanced Trade message of every connection skips `n` sequence numbers. */
  skipSequence(n = 1): void {
    for (const c of this.#conns.values()) c.seq += n;
  }

  /** Ids of the open connections, oldest first. */
  connectionIds(): number[] {
    return [...this.#conns.keys()];
  }

  /** The next `n` Advanced Trade messages to connection `id` (default every one) are lost. */
  loseFrames(n: number, id?: number): void {
    for (const c of this.#conns.values()) if (id === undefined || c.id === id) c.lose += n;
  }

  /**
   * Stalls connection `id` (its frames are held, as on a stuck socket) or, with `false`, sends
   * what it held in order and resumes.
   */
  stallConnection(id: number, on: boolean): void {
    const c = this.#conns.get(id);
    if (!c) return;
    if (on) {
      c.held ??= [];
      return;
    }
    const held = c.held ?? [];
    c.held = null;
    for (const text of held) this.#raw(c, text);
  }

  /** Closes connection `id` from the server side. */
  dropConnection(id: number, code = 4000): void {
    try {
      this.#conns.get(id)?.socket.close(code, "dropped by the fake");
    } catch { /* already closing */ }
  }

  /** Sends `text` as it is to connection `id` only. */
  sendRawTo(id: number, text: string): void {
    const c = this.#conns.get(id);
    if (c) this.#raw(c, text);
  }

  /** Sends `text` as it is to every open connection (malformed frames). */
  sendRaw(text: string): void {
    for (const c of this.#conns.values()) this.#raw(c, text);
  }

  /** Sends a JSON message as it is (no envelope, no sequence) to every open connection. */
  sendJson(message: unknown): void {
    this.sendRaw(JSON.stringify(message));
  }

  /** Sends an Advanced Trade envelope with the connection's next sequence number. */
  sendEnvelope(fields: Record<string, unknown>): void {
    for (const c of this.#conns.values()) if (c.format === "advanced") this.#sendAt(c, fields);
  }

  /** While silent, the fake sends nothing (ticks and heartbeats are discarded). */
  silence(on: boolean): void {
    this.#silent = on;
  }

  /** Closes every connection from the server side (the official SDK's mock uses code 4000). */
  dropConnections(code = 4000): void {
    for (const c of this.#conns.values()) {
      try {
        c.socket.close(code, "dropped by the fake");
      } catch { /* already closing */ }
    }
  }

  /** Sets the candles the REST endpoint serves for a product. */
  setCandles(productId: string, candles: FakeCandle[]): void {
    this.#candles.set(productId, candles.slice());
  }

  #send(c: Conn, message: unknown): void {
    this.#raw(c, JSON.stringify(message));
  }

  /** Advanced Trade: one monotonic sequence_num per connection, across all channels. */
  #sendAt(c: Conn, fields: Record<string, unknown>): void {
    const { channel, client_id, timestamp, events, ...rest } = fields;
    if (c.lose > 0 && !this.#silent) {
      c.lose--;
      c.seq++;
      return;
    }
    this.#raw(
      c,
      JSON.stringify({ channel, client_id, timestamp, sequence_num: c.seq++, events, ...rest }),
    );
  }

  #raw(c: Conn, text: string): void {
    if (this.#silent) return;
    if (c.held) {
      c.held.push(text);
      return;
    }
    if (c.socket.readyState !== WebSocket.OPEN) return;
    c.socket.send(text);
  }

  #handle(req: Request): Response {
    const url = new URL(req.url);
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      const format: Format | null = url.pathname === "/advanced"
        ? "advanced"
        : url.pathname === "/exchange"
        ? "exchange"
        : null;
      if (!format) return new Response("not found", { status: 404 });
      const { socket, response } = Deno.upgradeWebSocket(req);
      this.#accept(socket, format);
      return response;
    }
    const m = /^\/products\/([A-Z0-9-]+)\/candles$/.exec(url.pathname);
    if (req.method === "GET" && m) return this.#candlesResponse(m[1]!, url);
    return new Response("not found", { status: 404 });
  }

  #candlesResponse(productId: string, url: URL): Response {
    this.candleRequests.push(url);
    const granularity = Number(url.searchParams.get("granularity"));
    if (![60, 300, 900, 3600, 21600, 86400].includes(granularity)) {
      return Response.json({ message: "Unsupported granularity" }, { status: 400 });
    }
    const start = Date.parse(url.searchParams.get("start") ?? "") / 1000;
    const end = Date.parse(url.searchParams.get("end") ?? "") / 1000;
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) {
      return Response.json({ message: "Invalid start/end" }, { status: 400 });
    }
    if ((end - start) / granularity + 1 > 300) {
      return Response.json({
        message: "granularity too small for the requested time range. Count of aggregations " +
          "requested exceeds 300",
      }, { status: 400 });
    }
    const out = (this.#candles.get(productId) ?? [])
      .filter((c) => c[0] >= start && c[0] <= end)
      .sort((a, b) => b[0] - a[0]); // newest first
    return Response.json(out);
  }

  #accept(socket: WebSocket, format: Format): void {
    const c: Conn = {
      id: this.#nextId++,
      format,
      socket,
      seq: 0,
      subs: new Map(),
      tickerSent: false,
      deadline: undefined,
      lose: 0,
      held: null,
    };
    socket.onopen = () => {
      this.connectionsOpened++;
      this.#conns.set(c.id, c);
      c.deadline = setTimeout(() => {
        if (c.subs.size > 0) return;
        this.deadlineCloses++;
        try {
          socket.close(4001, "subscribe deadline");
        } catch { /* closing */ }
      }, this.#opts.subscribeDeadlineMs);
    };
    socket.onclose = () => {
      clearTimeout(c.deadline);
      this.#conns.delete(c.id);
    };
    socket.onerror = () => {};
    socket.onmessage = (e) => {
      let message: unknown;
      try {
        message = JSON.parse(String(e.data));
      } catch {
        message = String(e.data);
      }
      this.received.push({ connection: c.id, format, message });
      this.#onClientMessage(c, message);
    };
  }

  #onClientMessage(c: Conn, message: unknown): void {
    const m = message as {
      type?: string;
      channel?: string;
      channels?: (string | { name: string; product_ids?: string[] })[];
      product_ids?: string[];
    };
    if (m?.type !== "subscribe" && m?.type !== "unsubscribe") {
      if (c.format === "exchange") {
        this.#send(c, { type: "error", message: "Failed to subscribe", reason: "Unknown type" });
      } else this.#send(c, { type: "error", message: "unknown message type" });
      return;
    }
    const add = (channel: string, products: string[]) => {
      const set = c.subs.get(channel) ?? new Set<string>();
      for (const p of products) {
        if (m.type === "subscribe") set.add(p);
        else set.delete(p);
      }
      if (m.type === "unsubscribe" && products.length === 0) set.clear();
      if (set.size > 0 || channel === "heartbeats") c.subs.set(channel, set);
      else c.subs.delete(channel);
    };
    if (c.format === "advanced") {
      if (typeof m.channel !== "string") {
        this.#send(c, { type: "error", message: "channel is required" });
        return;
      }
      add(m.channel, m.product_ids ?? []);
      const subscriptions: Record<string, string[]> = {};
      for (const [ch, set] of c.subs) {
        subscriptions[ch] = ch === "heartbeats" ? ["heartbeats"] : [...set];
      }
      this.#sendAt(c, {
        channel: "subscriptions",
        client_id: "",
        timestamp: iso(Date.now(), 9),
        events: [{ subscriptions }],
      });
      return;
    }
    if (!Array.isArray(m.channels) || m.channels.length === 0) {
      this.#send(c, {
        type: "error",
        message: "Failed to subscribe",
        reason: "No channels provided",
      });
      return;
    }
    for (const ch of m.channels) {
      if (typeof ch === "string") add(ch, m.product_ids ?? []);
      else add(ch.name, ch.product_ids ?? m.product_ids ?? []);
    }
    this.#send(c, {
      type: "subscriptions",
      channels: [...c.subs].map(([name, set]) => ({ name, product_ids: [...set] })),
    });
  }

  /** Closes every connection and stops the server. */
  async close(): Promise<void> {
    for (const c of this.#conns.values()) {
      clearTimeout(c.deadline);
      try {
        c.socket.close(1001, "server stopping");
      } catch { /* closing */ }
    }
    await this.#server.shutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
