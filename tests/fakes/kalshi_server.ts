/**
 * A fake Kalshi for tests: a real HTTP + WebSocket server on 127.0.0.1 (port 0) serving
 * `/trade-api/v2/...` and `/trade-api/ws/v2` as exchange-protocols.md §B describes them, with
 * current fields only (`_dollars`, `_fp`, RFC 3339 times) and cursor pagination (`""` on the last
 * page). Signed requests are verified with the public key of a key pair the test generates
 * ({@linkcode generateTestKeys}); `/portfolio/*` and the socket refuse anything else with 401.
 *
 * Scriptable: answer 429 (with or without `Retry-After`), 5xx or 401 for a number of calls, delay
 * responses, send bodies that are not JSON; emit WebSocket `market_position` and `fill` messages;
 * settle a market or a whole event (status, result, settlement value).
 * It records every call. Stop it with `close()` or `await using`.
 *
 * @module
 */
import { encodePem, pkcs8ToPkcs1 } from "../../lib/kalshi/pem.ts";

/** A key pair for a test: the private key as PKCS#8 and PKCS#1 PEM, the public key to verify. */
export interface TestKeys {
  keyId: string;
  /** The private key, PKCS#8 DER. */
  pkcs8: Uint8Array;
  pkcs8Pem: string;
  pkcs1Pem: string;
  publicKey: CryptoKey;
}

/** Generates an RSA-PSS 2048 key pair (what Kalshi issues, as both PEM forms). */
export async function generateTestKeys(): Promise<TestKeys> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSA-PSS",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return {
    keyId: crypto.randomUUID(),
    pkcs8,
    pkcs8Pem: encodePem("PRIVATE KEY", pkcs8),
    pkcs1Pem: encodePem("RSA PRIVATE KEY", pkcs8ToPkcs1(pkcs8)),
    publicKey: pair.publicKey,
  };
}

/** One recorded HTTP call. */
export interface FakeCall {
  method: string;
  /** Path relative to `/trade-api/v2` (e.g. `/portfolio/fills`). */
  path: string;
  query: Record<string, string>;
  status: number;
  /** The request carried a valid signature. */
  signed: boolean;
  /** `performance.now()` when it was answered. */
  at: number;
}

/** A scripted failure: the next `times` calls matching `path` get `status`. */
export interface FakeFault {
  status: number;
  times: number;
  path?: string | RegExp;
  /** Sent as `Retry-After` (seconds) with a 429. */
  retryAfterS?: number;
  /** A 200 whose body is this text (malformed JSON) or these bytes, instead of an error status. */
  body?: string | Uint8Array<ArrayBuffer>;
}

/** Options of an hourly event. */
export interface HourlyEventOptions {
  markets?: number;
  /** Whole-dollar strike of the lowest market. */
  lowestStrike?: number;
  /** Dollars between strikes. */
  tier?: number;
}

type Json = Record<string, unknown>;

interface FakeSocket {
  socket: WebSocket;
  /** channel → sid */
  subs: Map<string, number>;
}

const two = (n: number) => String(n).padStart(2, "0");
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/** Cents → `"0.5600"`-style dollars (the fake's own output format). */
export function dollars(cents: number): string {
  return (cents / 100).toFixed(4);
}

function matches(path: string, want: string | RegExp | undefined): boolean {
  if (want === undefined) return true;
  return typeof want === "string" ? path === want : want.test(path);
}

/** The fake server. */
export class FakeKalshi implements AsyncDisposable {
  #server: Deno.HttpServer<Deno.NetAddr>;
  #publicKey: CryptoKey;
  #closing = new AbortController();
  #sockets = new Set<FakeSocket>();
  #sid = 0;
  /** Recorded HTTP calls. */
  readonly calls: FakeCall[] = [];
  /** Recorded WebSocket commands. */
  readonly wsCommands: unknown[] = [];
  /** WebSocket upgrade attempts and whether they were accepted. */
  readonly wsHandshakes: { accepted: boolean }[] = [];
  readonly keyId: string;
  /** event ticker → event (markets nested). */
  readonly events = new Map<string, { event: Json; markets: Json[] }>();
  balanceCents = 100_000;
  positions: Json[] = [];
  orders: Json[] = [];
  fills: Json[] = [];
  settlements: Json[] = [];
  /** When false, every signed endpoint answers 401. */
  authorised = true;
  /** Delay of every response (ms), or per path. */
  delay: { ms: number; path?: string | RegExp } = { ms: 0 };
  /** Scripted failures, consumed in order. */
  faults: FakeFault[] = [];
  /** Items per page when the client sends no `limit`. */
  defaultLimit = 100;
  /** Clock of the timestamp check. */
  now: () => number = () => Date.now();

  private constructor(publicKey: CryptoKey, keyId: string) {
    this.#publicKey = publicKey;
    this.keyId = keyId;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  /** Starts a fake that trusts `keys`. */
  static start(keys: Pick<TestKeys, "keyId" | "publicKey">): FakeKalshi {
    return new FakeKalshi(keys.publicKey, keys.keyId);
  }

  get port(): number {
    return this.#server.addr.port;
  }
  /** REST base, like `https://external-api.kalshi.com/trade-api/v2`. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/trade-api/v2`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/trade-api/ws/v2`;
  }

  /** Calls to `path` (exact), optionally only those with `status`. */
  callsTo(path: string, status?: number): FakeCall[] {
    return this.calls.filter((c) =>
      c.path === path && (status === undefined || c.status === status)
    );
  }

  /** Open WebSocket connections with a subscription. */
  get subscribedSockets(): number {
    return [...this.#sockets].filter((s) => s.subs.size > 0).length;
  }

  /**
   * Adds the hourly event of `series` settling at `settleMs` (ET ticker) with `markets` strikes
   * `tier` dollars apart, and returns its ticker.
   */
  addHourlyEvent(series: string, settleMs: number, options: HourlyEventOptions = {}): string {
    const fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: "America/New_York",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      hourCycle: "h23",
    });
    const p = Object.fromEntries(
      fmt.formatToParts(new Date(settleMs)).map((x) => [x.type, Number(x.value)]),
    );
    const ticker = `${series}-${two(p.year! % 100)}${MONTHS[p.month! - 1]}${two(p.day!)}${
      two(p.hour!)
    }`;
    const count = options.markets ?? 75;
    const tier = options.tier ?? 250;
    const lowest = options.lowestStrike ?? 100_000;
    const close = new Date(settleMs).toISOString().replace(".000Z", "Z");
    const markets: Json[] = [];
    for (let i = 0; i < count; i++) {
      const strike = lowest + i * tier;
      const floor = `${strike - 1}.99`;
      const yesBid = Math.max(1, 98 - i);
      markets.push({
        ticker: `${ticker}-T${floor}`,
        event_ticker: ticker,
        market_type: "binary",
        status: "active",
        strike_type: "greater",
        floor_strike: Number(floor),
        yes_sub_title: `$${strike.toLocaleString("en-US")} or above`,
        no_sub_title: `$${strike.toLocaleString("en-US")} or above`,
        title: `${series} price at ${close}?`,
        open_time: new Date(settleMs - 3_600_000).toISOString(),
        close_time: close,
        expected_expiration_time: close,
        latest_expiration_time: close,
        yes_bid_dollars: dollars(yesBid),
        yes_ask_dollars: dollars(yesBid + 1),
        no_bid_dollars: dollars(99 - yesBid),
        no_ask_dollars: dollars(100 - yesBid),
        last_price_dollars: dollars(yesBid),
        volume_fp: `${100 + i}.00`,
        volume_24h_fp: `${200 + i}.00`,
        open_interest_fp: `${50 + i}.00`,
        price_level_structure: "linear_cent",
        result: "",
      });
    }
    this.events.set(ticker, {
      event: {
        event_ticker: ticker,
        series_ticker: series,
        title: `${series} price at ${close}?`,
        sub_title: close,
        collateral_return_type: "",
        mutually_exclusive: false,
        strike_date: close,
      },
      markets,
    });
    return ticker;
  }

  /** Changes one market's fields (e.g. a new quote). */
  updateMarket(marketTicker: string, fields: Json): void {
    for (const { markets } of this.events.values()) {
      const m = markets.find((x) => x.ticker === marketTicker);
      if (m) {
        Object.assign(m, fields);
        return;
      }
    }
    throw new Error(`no market ${marketTicker}`);
  }

  /**
   * Settles one market as Kalshi reports it: `status` (`finalized` by default; `settled` too),
   * `result`, `settlement_value_dollars` (1 or 0 per YES contract by the result, unless given)
   * and `settlement_ts` (`settledAt`, epoch ms, when given).
   */
  settleMarket(
    marketTicker: string,
    result: string,
    options: { status?: string; valueDollars?: string | null; settledAt?: number } = {},
  ): void {
    const byResult: Record<string, string> = { yes: "1.0000", no: "0.0000" };
    const value = options.valueDollars !== undefined
      ? options.valueDollars
      : byResult[result] ?? null;
    this.updateMarket(marketTicker, {
      status: options.status ?? "finalized",
      result,
      settlement_value_dollars: value ?? undefined,
      ...(options.settledAt === undefined
        ? {}
        : { settlement_ts: new Date(options.settledAt).toISOString() }),
    });
  }

  /**
   * Settles every market of `eventTicker` at the index value `price`: YES for the strikes at or
   * below it (a market's strike is its floor_strike + 0.01), NO above. Returns ticker → result.
   */
  settleEvent(
    eventTicker: string,
    price: number,
    options: { status?: string; settledAt?: number } = {},
  ): Map<string, string> {
    const e = this.events.get(eventTicker);
    if (!e) throw new Error(`no event ${eventTicker}`);
    const out = new Map<string, string>();
    for (const m of e.markets) {
      const result = Number(m.floor_strike) + 0.01 <= price ? "yes" : "no";
      this.settleMarket(String(m.ticker), result, options);
      out.set(String(m.ticker), result);
    }
    return out;
  }

  /** Adds a fill and sends it to sockets subscribed to `fill`. */
  pushFill(fill: Json): void {
    this.fills.unshift(fill);
    this.#emit("fill", "fill", {
      trade_id: fill.trade_id,
      order_id: fill.order_id,
      market_ticker: fill.ticker,
      is_taker: fill.is_taker,
      side: fill.side,
      action: fill.action,
      yes_price_dollars: fill.yes_price_dollars,
      count_fp: fill.count_fp,
      fee_cost: fill.fee_cost,
      ts_ms: Date.parse(String(fill.created_time)),
    });
  }

  /** Replaces a position and sends `market_position` to subscribed sockets. */
  pushPosition(position: Json): void {
    this.positions = this.positions.filter((p) => p.ticker !== position.ticker);
    this.positions.push(position);
    this.#emit("market_positions", "market_position", {
      market_ticker: position.ticker,
      position_fp: position.position_fp,
      position_cost_dollars: position.market_exposure_dollars,
      realized_pnl_dollars: position.realized_pnl_dollars,
      fees_paid_dollars: position.fees_paid_dollars,
    });
  }

  /** Closes every WebSocket connection (a venue-side disconnect). */
  dropSockets(): void {
    for (const s of this.#sockets) {
      try {
        s.socket.close(1011, "dropped by test");
      } catch { /* already closed */ }
    }
    this.#sockets.clear();
  }

  #emit(channel: string, type: string, msg: Json): void {
    for (const s of this.#sockets) {
      const sid = s.subs.get(channel);
      if (sid !== undefined && s.socket.readyState === WebSocket.OPEN) {
        s.socket.send(JSON.stringify({ type, sid, msg }));
      }
    }
  }

  async #verify(req: Request, method: string, path: string): Promise<boolean> {
    const key = req.headers.get("KALSHI-ACCESS-KEY");
    const ts = req.headers.get("KALSHI-ACCESS-TIMESTAMP");
    const sig = req.headers.get("KALSHI-ACCESS-SIGNATURE");
    if (!key || !ts || !sig || key !== this.keyId || !/^\d{13}$/.test(ts)) return false;
    if (Math.abs(this.now() - Number(ts)) > 60_000) return false;
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.from(atob(sig), (c) => c.charCodeAt(0));
    } catch {
      return false;
    }
    return await crypto.subtle.verify(
      { name: "RSA-PSS", saltLength: 32 },
      this.#publicKey,
      bytes as BufferSource,
      new TextEncoder().encode(`${ts}${method}${path}`),
    );
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/trade-api/ws/v2") return await this.#upgrade(req, url);
    const prefix = "/trade-api/v2";
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const hasAuth = req.headers.has("KALSHI-ACCESS-SIGNATURE");
    const signed = hasAuth && await this.#verify(req, req.method, url.pathname);
    const record = (status: number) =>
      this.calls.push({ method: req.method, path, query, status, signed, at: performance.now() });
    const needsAuth = path.startsWith("/portfolio");

    if (this.delay.ms > 0 && matches(path, this.delay.path)) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.delay.ms);
        this.#closing.signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
    const fault = this.faults.find((f) => f.times > 0 && matches(path, f.path));
    if (fault) {
      fault.times--;
      record(fault.body !== undefined ? 200 : fault.status);
      if (fault.body !== undefined) {
        return new Response(fault.body, { headers: { "content-type": "application/json" } });
      }
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (fault.retryAfterS !== undefined) headers["retry-after"] = String(fault.retryAfterS);
      const body = fault.status === 429
        ? { error: "too many requests" }
        : fault.status === 401
        ? { error: { code: "authentication_error", message: "authentication_error" } }
        : { error: { code: "internal_server_error", message: "internal error" } };
      return Response.json(body, { status: fault.status, headers });
    }
    if ((needsAuth || hasAuth) && (!signed || !this.authorised)) {
      record(401);
      return Response.json({
        error: {
          code: "authentication_error",
          message: "authentication_error",
          details: "NOT_FOUND",
        },
      }, { status: 401 });
    }
    const { status, body } = this.#route(req.method, path, url.searchParams);
    record(status);
    return Response.json(body, { status });
  }

  #route(method: string, path: string, q: URLSearchParams): { status: number; body: unknown } {
    if (method !== "GET") return { status: 405, body: { error: { code: "method_not_allowed" } } };
    const event = /^\/events\/([^/]+)$/.exec(path);
    if (event) {
      const e = this.events.get(decodeURIComponent(event[1]!));
      if (!e) return { status: 404, body: { error: { code: "not_found", message: "not found" } } };
      const nested = q.get("with_nested_markets") === "true";
      return {
        status: 200,
        body: nested
          ? { event: { ...e.event, markets: e.markets }, markets: e.markets }
          : { event: e.event, markets: e.markets },
      };
    }
    const minTs = q.has("min_ts") ? Number(q.get("min_ts")) * 1000 : undefined;
    const since = (time: unknown) => minTs === undefined || Date.parse(String(time)) >= minTs;
    switch (path) {
      case "/portfolio/balance":
        return {
          status: 200,
          body: {
            balance: this.balanceCents,
            balance_dollars: dollars(this.balanceCents),
            portfolio_value: 0,
            updated_ts: Math.floor(this.now() / 1000),
          },
        };
      case "/portfolio/positions":
        return this.#page("market_positions", this.positions, q, { event_positions: [] });
      case "/portfolio/orders": {
        const status = q.get("status");
        const rows = this.orders.filter((o) =>
          (!status || o.status === status) && since(o.last_update_time ?? o.created_time)
        );
        return this.#page("orders", rows, q);
      }
      case "/portfolio/fills":
        return this.#page("fills", this.fills.filter((f) => since(f.created_time)), q);
      case "/portfolio/settlements":
        return this.#page(
          "settlements",
          this.settlements.filter((s) => since(s.settled_time)),
          q,
        );
      default:
        return { status: 404, body: { error: { code: "not_found", message: "not found" } } };
    }
  }

  #page(key: string, rows: Json[], q: URLSearchParams, extra: Json = {}) {
    const limit = Math.min(1000, Number(q.get("limit") ?? this.defaultLimit) || this.defaultLimit);
    const cursor = q.get("cursor");
    const offset = cursor ? Number(atob(cursor).slice(2)) : 0;
    if (!Number.isInteger(offset) || offset < 0) {
      return { status: 400, body: { error: { code: "bad_request", message: "bad cursor" } } };
    }
    const items = rows.slice(offset, offset + limit);
    const next = offset + limit < rows.length ? btoa(`o:${offset + limit}`) : "";
    return { status: 200, body: { [key]: items, cursor: next, ...extra } };
  }

  async #upgrade(req: Request, url: URL): Promise<Response> {
    const ok = this.authorised && await this.#verify(req, "GET", url.pathname);
    this.wsHandshakes.push({ accepted: ok });
    if (!ok) {
      return Response.json({ error: { code: "authentication_error" } }, { status: 401 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    const conn: FakeSocket = { socket, subs: new Map() };
    socket.onopen = () => this.#sockets.add(conn);
    socket.onclose = () => this.#sockets.delete(conn);
    socket.onerror = () => this.#sockets.delete(conn);
    socket.onmessage = (e) => {
      let cmd: { id?: number; cmd?: string; params?: { channels?: string[] } };
      try {
        cmd = JSON.parse(String(e.data));
      } catch {
        socket.send(JSON.stringify({ type: "error", msg: { code: 1, msg: "cannot process" } }));
        return;
      }
      this.wsCommands.push(cmd);
      if (cmd.cmd === "subscribe") {
        for (const channel of cmd.params?.channels ?? []) {
          const sid = ++this.#sid;
          conn.subs.set(channel, sid);
          socket.send(JSON.stringify({ id: cmd.id, type: "subscribed", msg: { channel, sid } }));
        }
      } else {
        socket.send(
          JSON.stringify({ id: cmd.id, type: "error", msg: { code: 5, msg: "unknown" } }),
        );
      }
    };
    return response;
  }

  /** Stops the server and closes every socket. */
  async close(): Promise<void> {
    this.#closing.abort();
    this.dropSockets();
    await this.#server.shutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
