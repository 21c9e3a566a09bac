/**
 * The socket of a pool on a multi-host URL (`postgres://h1:5432,h2:5433/db?target_session_attrs=
 * primary`), given to postgres.js as its `socket` option so that a database failover is ridden
 * through, and bounded. Measured with postgres.js 3.4.9 on a real primary and streaming standby
 * (`tests/db_failover_test.ts`), its own multi-host loop:
 *
 * - tries the hosts in turn and checks `target_session_attrs` only when a connection is made
 *   (open pooled connections are not re-checked);
 * - swallows every connection error while hosts are left to try, and, since it starts again at
 *   the first host, never gives up: with the primary gone and the standby not yet promoted (or
 *   every host down) a query waits forever, `connect_timeout` notwithstanding (it restarts with
 *   each attempt), while each pooled connection opens about 160 sessions a second on the standby;
 * - waits out `connect_timeout` on a host that does not answer, then fails the query instead of
 *   trying the next host (porsager/postgres#815).
 *
 * So this socket picks the hosts itself (postgres.js leaves that to a custom socket): the host of
 * the last usable session first, then the others in turn. It watches the server's messages (not
 * under TLS, see below) and so knows, as postgres.js decides it, whether a session was accepted
 * (`in_hot_standby` and `default_transaction_read_only` are reported at start-up by
 * PostgreSQL 14 and newer; older servers are asked, and accepted sessions then see a third
 * ReadyForQuery). While every host fails, each new round waits a little longer (50 ms doubling up
 * to 500 ms), a TCP connect that does not complete within half of `connectTimeoutMs` moves on to
 * the next host, and once no host gave a usable session for `connectTimeoutMs` the query fails
 * with SQLSTATE 08001 naming each host and why (refused, a standby, ...), so callers see an
 * outage as they do on one host. A session that turns read-only under a query that needs the
 * primary (an error 25006, or `in_hot_standby` / `default_transaction_read_only` reported `on`)
 * is ended after that query (before the caller's next one), so the next query reconnects and
 * checks again.
 *
 * Under TLS the messages cannot be read: a session then counts as usable once it stayed open for
 * a second, and read-only sessions are not ended early. A server that vanishes without closing
 * its connections (a dead machine, a cut cable) is noticed only by TCP keepalive (postgres.js:
 * 60 s idle) and retransmission timeouts, as on one host.
 *
 * @example
 * ```ts ignore
 * const sql = postgres(url, {
 *   socket: hostSocket({ hosts: parseDatabaseUrl(url).hosts, connectTimeoutMs: 5_000 }),
 * });
 * ```
 *
 * @module
 */
import net from "node:net";
import { Duplex } from "node:stream";
import { systemClock } from "./clock.ts";
import { sleep } from "./sleep.ts";

/** One host of the URL. */
export interface Host {
  host: string;
  port: number;
}

/** Options of {@linkcode hostSocket}. */
export interface HostSocketOptions {
  hosts: readonly Host[];
  /** Set TCP_NODELAY (see `SqlOptions.noDelay`). */
  noDelay?: boolean;
  /** Fail a query after this long without a usable session on any host. */
  connectTimeoutMs: number;
}

/** What postgres.js passes the socket factory (the parts read here). */
export interface PgSocketOptions {
  target_session_attrs?: string | null;
  ssl?: unknown;
}

/** Server message types read here: ErrorResponse, ParameterStatus, ReadyForQuery. */
const READ = new Set([0x45, 0x53, 0x5a]);
/** Larger messages of those types are skipped unread (an ErrorResponse is a few hundred bytes). */
const MAX_READ = 64 * 1024;

/** The server's side of the wire protocol, split into messages, whatever the chunk boundaries. */
export class ServerMessages {
  #head = new Uint8Array(5);
  #headN = 0;
  #type = 0;
  #body: Uint8Array | null = null;
  #bodyN = 0;
  #skip = 0;
  #broken = false;
  #on: (type: number, body: Uint8Array | null) => void;

  /** `on` gets each message's type and body (null when too large to read, or skipped). */
  constructor(on: (type: number, body: Uint8Array | null) => void) {
    this.#on = on;
  }

  /** Reads a chunk as the socket delivered it. */
  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && !this.#broken) {
      if (this.#skip > 0) {
        const k = Math.min(this.#skip, chunk.length - i);
        this.#skip -= k;
        i += k;
        if (this.#skip === 0 && READ.has(this.#type)) this.#on(this.#type, null);
      } else if (this.#body) {
        const k = Math.min(this.#body.length - this.#bodyN, chunk.length - i);
        this.#body.set(chunk.subarray(i, i + k), this.#bodyN);
        this.#bodyN += k;
        i += k;
        if (this.#bodyN === this.#body.length) this.#message(this.#body);
      } else {
        this.#head[this.#headN++] = chunk[i++]!;
        if (this.#headN === 5) this.#start();
      }
    }
  }

  #start(): void {
    this.#headN = 0;
    this.#type = this.#head[0]!;
    const size = new DataView(this.#head.buffer).getInt32(1) - 4;
    if (size < 0) {
      this.#broken = true; // not the protocol we know: stop reading rather than guess
    } else if (size === 0) {
      this.#message(new Uint8Array(0));
    } else if (READ.has(this.#type) && size <= MAX_READ) {
      this.#body = new Uint8Array(size);
      this.#bodyN = 0;
    } else {
      this.#skip = size;
    }
  }

  #message(body: Uint8Array): void {
    this.#body = null;
    if (READ.has(this.#type)) this.#on(this.#type, body);
  }
}

const text = new TextDecoder();

/** The fields of an ErrorResponse body, by their one-letter code (`C`: SQLSTATE, `M`: message). */
export function errorFields(body: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    out[String.fromCharCode(body[i]!)] = text.decode(body.subarray(i + 1, end));
    i = end + 1;
  }
  return out;
}

/** The name and value of a ParameterStatus body. */
function parameter(body: Uint8Array): [string, string] {
  const end = body.indexOf(0);
  return [text.decode(body.subarray(0, end)), text.decode(body.subarray(end + 1, -1))];
}

/**
 * Why postgres.js will refuse a session for `target_session_attrs` (as its own check does), or
 * undefined when it takes it; `params` holds what the server reported.
 */
export function refusedFor(tsa: string, params: Record<string, string>): string | undefined {
  const standby = params.in_hot_standby === "on";
  const readOnly = params.default_transaction_read_only === "on";
  if (tsa === "primary" && standby) return "a standby";
  if (tsa === "read-write" && readOnly) return "read-only";
  if (tsa === "standby" && !standby) return "not a standby";
  if (tsa === "read-only" && !readOnly) return "not read-only";
  return undefined;
}

/** Attributes whose refusals are known here (prefer-standby depends on postgres.js's state). */
const CHECKED = new Set(["primary", "read-write", "standby", "read-only"]);
/** Attributes for which a read-only session is useless. */
const WRITABLE = new Set(["primary", "read-write"]);
/** Wait before a new round of hosts once every host failed, and its cap. */
const PACE_MS = 50;
const PACE_MAX_MS = 500;
/** Under TLS, a session open this long counts as usable. */
const TLS_USABLE_MS = 1_000;

/** The running failures of a pool: since when no host gave a usable session, and why. */
interface Streak {
  since: number;
  last: number;
  failures: number;
  why: Map<string, string>;
}

/**
 * A postgres.js `socket` factory for the pool of a multi-host URL (one per pool: it keeps the
 * pool's host preference and failures). See the module documentation.
 */
export function hostSocket(o: HostSocketOptions): (pg: PgSocketOptions) => Promise<Duplex> {
  const n = o.hosts.length;
  let next = 0;
  let streak: Streak | undefined;
  const name = (h: Host) => `${h.host.includes(":") ? `[${h.host}]` : h.host}:${h.port}`;

  const failed = (h: Host, why: string) => {
    const t = performance.now();
    streak ??= { since: t, last: t, failures: 0, why: new Map() };
    streak.last = t;
    streak.failures++;
    streak.why.set(name(h), why);
  };
  const usable = (index: number) => {
    streak = undefined;
    next = index;
  };

  return async (pg) => {
    let t = performance.now();
    if (streak && t - streak.last > o.connectTimeoutMs) streak = undefined; // an old, stray one
    if (streak && streak.failures >= n && streak.failures % n === 0) {
      await sleep(Math.min(PACE_MS * 2 ** (streak.failures / n - 1), PACE_MAX_MS));
      t = performance.now();
    }
    if (streak && streak.failures >= n && t - streak.since >= o.connectTimeoutMs) {
      const s = streak;
      streak = undefined;
      const why = o.hosts.map((h) => `${name(h)} ${s.why.get(name(h)) ?? "not tried"}`);
      return refusal(
        `Cannot reach a usable PostgreSQL server${
          pg.target_session_attrs ? ` (target_session_attrs=${pg.target_session_attrs})` : ""
        } within ${Math.round((t - s.since) / 1000)} s: ${why.join("; ")}`,
      );
    }
    const index = next;
    next = (next + 1) % n;
    return open(index, pg);
  };

  function open(index: number, pg: PgSocketOptions): Duplex {
    const h = o.hosts[index]!;
    const socket = net.connect({ host: h.host, port: h.port });
    if (o.noDelay) socket.setNoDelay(true);
    // postgres.js names the server after these in its errors and its TLS check.
    Object.assign(socket, { host: h.host, port: h.port });
    let decided = false;
    let accepted = false;
    let why: string | undefined;
    const timers: (() => void)[] = [];
    const stopTimers = () => timers.splice(0).forEach((cancel) => cancel());
    timers.push(systemClock.setTimer(() => {
      if (socket.connecting) socket.destroy(new Error("no answer to the TCP connect"));
    }, o.connectTimeoutMs / 2));
    socket.once("connect", () => timers.shift()?.());
    const accept = () => {
      decided = accepted = true;
      usable(index);
    };
    if (pg.ssl) {
      timers.push(systemClock.setTimer(() => !decided && accept(), TLS_USABLE_MS));
    } else {
      watch(socket, pg.target_session_attrs ?? null, {
        accept,
        refuse: (reason) => (decided = true, why = reason),
        undecided: () => !decided,
        readOnly: () => {
          // The next session starts at another host, not at this one that turned read-only.
          if (next === index) next = (index + 1) % n;
          stopTimers();
        },
      });
    }
    socket.once("error", (e: Error & { code?: string }) => (why ??= e.code ?? e.message));
    socket.once("close", () => {
      stopTimers();
      if (!accepted) failed(h, why ?? "closed the connection");
    });
    return socket;
  }
}

/** What {@linkcode watch} reports about one session. */
interface Verdict {
  accept(): void;
  refuse(why: string): void;
  undecided(): boolean;
  /** The session is ended: it turned read-only. */
  readOnly(): void;
}

/**
 * Reads a plaintext session's server messages: decides, as postgres.js will, whether the session
 * is accepted, and ends a session that turned read-only where writes are needed, after the
 * query that found out (the data listener runs before postgres.js's, the end after it).
 */
function watch(socket: net.Socket, tsa: string | null, v: Verdict): void {
  const params: Record<string, string> = {};
  let ready = 0;
  let readOnly = false;
  const messages = new ServerMessages((type, body) => {
    if (type === 0x53 && body) {
      const [k, value] = parameter(body);
      params[k] = value;
      if (tsa && WRITABLE.has(tsa) && refusedFor(tsa, params)) readOnly = true;
    } else if (type === 0x45) {
      const code = body ? errorFields(body).C : undefined;
      if (v.undecided()) v.refuse(`refused the session (SQLSTATE ${code ?? "unknown"})`);
      else if (code === "25006" && !(tsa && CHECKED.has(tsa) && !WRITABLE.has(tsa))) {
        readOnly = true;
      }
    } else if (type === 0x5a) {
      ready++;
      if (v.undecided()) {
        const known = "in_hot_standby" in params && "default_transaction_read_only" in params;
        if (!tsa || !CHECKED.has(tsa)) v.accept();
        else if (known) {
          const refused = refusedFor(tsa, params);
          if (refused) v.refuse(`is ${refused}`);
          else v.accept();
        } else if (ready >= 3) v.accept();
      } else if (readOnly) {
        v.readOnly();
        // After postgres.js has handled this chunk (its listener runs after this one) and before
        // the caller's next query (a later microtask): postgres.js retires a connection on its
        // socket's `close`, which destroy() alone emits only after that query was sent.
        queueMicrotask(() => {
          socket.destroy();
          socket.emit("close", false);
        });
      }
    }
  });
  socket.on("data", (chunk: Uint8Array) => messages.push(chunk));
}

/**
 * A socket that answers the start-up with a FATAL ErrorResponse (SQLSTATE 08001) and closes:
 * how postgres.js is made to fail the query that waits for a connection.
 */
function refusal(message: string): Duplex {
  const enc = new TextEncoder();
  const fields = enc.encode(`SFATAL\0VFATAL\0C08001\0M${message}\0\0`);
  const msg = new Uint8Array(5 + fields.length);
  msg[0] = 0x45;
  new DataView(msg.buffer).setInt32(1, 4 + fields.length);
  msg.set(fields, 5);
  let answered = false;
  const socket: Duplex = new Duplex({
    read() {},
    write(_chunk, _encoding, done) {
      done();
      if (answered) return;
      answered = true;
      systemClock.setTimer(() => {
        socket.push(msg);
        systemClock.setTimer(() => socket.destroy(), 0);
      }, 0);
    },
  });
  return socket;
}
