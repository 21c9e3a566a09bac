/**
 * One login to the embedded server over the PostgreSQL wire protocol (v3), with SCRAM-SHA-256
 * (RFC 5802 / RFC 7677, what `initdb --auth=scram-sha-256` asks for) or no password (trust), and
 * nothing else: the start-up check that the stored password opens the cluster. It is here, and
 * not a `select 1` through postgres.js, because the heart runs this check and postgres.js with
 * Node's `net` and `stream` costs its process about 10 MiB RSS for as long as it lives
 * (`bench/supervisor.ts` prints the heart's RSS); everything that queries uses `lib/db.ts`.
 *
 * A refusal rejects with the server's message and SQLSTATE (`code`, e.g. `28P01` for a wrong
 * password), as postgres.js reports one.
 *
 * @example
 * ```ts ignore
 * await checkPassword({ port: 5432, user: "postgres", database: "postgres", password: "…" });
 * ```
 *
 * @module
 */

/** Where and as whom {@linkcode checkPassword} logs in. */
export interface LoginTarget {
  port: number;
  user: string;
  database: string;
  password: string;
  applicationName?: string;
  /** Bound on the whole exchange; default 10 000 ms. */
  timeoutMs?: number;
}

/** A refusal by the server: its message, with its SQLSTATE as `code`. */
export class LoginRefused extends Error {
  override name = "LoginRefused";
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

type Bytes = Uint8Array<ArrayBuffer>;

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string): Bytes => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

async function hmac(key: Bytes, text: string): Promise<Bytes> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(text)));
}

/**
 * The client's final SCRAM-SHA-256 message for `serverFirst`, and the server signature the
 * server's final message must carry (RFC 5802 §3). `clientFirstBare` is `n=<user>,r=<nonce>`.
 */
export async function scramFinal(
  password: string,
  clientFirstBare: string,
  serverFirst: string,
): Promise<{ clientFinal: string; serverSignature: string }> {
  const attrs = new Map(serverFirst.split(",").map((a) => [a[0], a.slice(2)]));
  const nonce = attrs.get("r") ?? "";
  const salt = attrs.get("s");
  const iterations = Number(attrs.get("i"));
  if (!nonce.startsWith(clientFirstBare.split("r=")[1] ?? "\0") || !salt || !(iterations > 0)) {
    throw new Error(`Cannot log in: unexpected SCRAM server message "${serverFirst}"`);
  }
  const pw = await crypto.subtle.importKey("raw", enc.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const salted = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: unb64(salt), iterations },
      pw,
      256,
    ),
  );
  const clientKey = await hmac(salted, "Client Key");
  const storedKey = new Uint8Array(await crypto.subtle.digest("SHA-256", clientKey));
  const withoutProof = `c=biws,r=${nonce}`;
  const auth = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = await hmac(storedKey, auth);
  const proof = clientKey.map((b, i) => b ^ signature[i]!);
  const serverSignature = b64(await hmac(await hmac(salted, "Server Key"), auth));
  return { clientFinal: `${withoutProof},p=${b64(proof)}`, serverSignature };
}

/** A frontend message: type byte (none for the start-up message), length, body. */
function frame(type: string, ...parts: (string | Uint8Array | number)[]): Uint8Array {
  const body = parts.map((p) =>
    typeof p === "number"
      ? new Uint8Array([p >>> 24, (p >>> 16) & 255, (p >>> 8) & 255, p & 255])
      : typeof p === "string"
      ? enc.encode(p)
      : p
  );
  const size = body.reduce((n, b) => n + b.length, 4);
  const out = new Uint8Array(size + type.length);
  const view = new DataView(out.buffer);
  if (type) out[0] = type.charCodeAt(0);
  view.setInt32(type.length, size);
  let at = type.length + 4;
  for (const b of body) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** Reads backend messages off `conn`, one at a time. */
function reader(conn: Deno.Conn): () => Promise<{ type: string; body: Uint8Array }> {
  let buf = new Uint8Array(0);
  return async function next() {
    while (
      buf.length < 5 || buf.length < 1 + new DataView(buf.buffer, buf.byteOffset).getInt32(1)
    ) {
      const chunk = new Uint8Array(16_384);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("Cannot log in: the server closed the connection");
      const joined = new Uint8Array(buf.length + n);
      joined.set(buf);
      joined.set(chunk.subarray(0, n), buf.length);
      buf = joined;
    }
    const size = new DataView(buf.buffer, buf.byteOffset).getInt32(1);
    const msg = { type: String.fromCharCode(buf[0]!), body: buf.slice(5, 1 + size) };
    buf = buf.slice(1 + size);
    return msg;
  };
}

/** An ErrorResponse's fields (`C` the SQLSTATE, `M` the message). */
function errorFields(body: Uint8Array): Map<string, string> {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const end = body.indexOf(0, at + 1);
    fields.set(String.fromCharCode(body[at]!), dec.decode(body.subarray(at + 1, end)));
    at = end + 1;
  }
  return fields;
}

async function exchange(conn: Deno.Conn, t: LoginTarget): Promise<void> {
  const write = (b: Uint8Array) => conn.write(b).then(() => {});
  const next = reader(conn);
  const app = t.applicationName ?? "recio-login-check";
  await write(
    frame("", 196_608, `user\0${t.user}\0database\0${t.database}\0application_name\0${app}\0\0`),
  );
  const clientFirstBare = `n=,r=${b64(crypto.getRandomValues(new Uint8Array(18)))}`;
  let expected: string | undefined;
  for (;;) {
    const { type, body } = await next();
    if (type === "E") {
      const f = errorFields(body);
      throw new LoginRefused(f.get("M") ?? "login refused", f.get("C"));
    }
    if (type === "Z") return; // ReadyForQuery: logged in
    if (type !== "R") continue; // ParameterStatus, BackendKeyData, notices
    const code = new DataView(body.buffer, body.byteOffset).getInt32(0);
    const data = dec.decode(body.subarray(4));
    if (code === 0) continue; // AuthenticationOk
    if (code === 10) { // SASL: the mechanisms, NUL-separated
      if (!data.split("\0").includes("SCRAM-SHA-256")) {
        throw new Error(`Cannot log in: the server offers no SCRAM-SHA-256 (${data})`);
      }
      const first = enc.encode(`n,,${clientFirstBare}`);
      await write(frame("p", "SCRAM-SHA-256\0", first.length, first));
    } else if (code === 11) { // SASLContinue: the server's first message
      const { clientFinal, serverSignature } = await scramFinal(t.password, clientFirstBare, data);
      expected = serverSignature;
      await write(frame("p", clientFinal));
    } else if (code === 12) { // SASLFinal: the server proves it knows the password too
      if (expected === undefined || data !== `v=${expected}`) {
        throw new Error("Cannot log in: the server's SCRAM signature does not match");
      }
    } else if (code === 3) { // cleartext, on loopback only (the embedded server listens there)
      await write(frame("p", `${t.password}\0`));
    } else {
      throw new Error(`Cannot log in: unsupported authentication request ${code}`);
    }
  }
}

/** Logs in once to 127.0.0.1:`port` and ends the session; rejects with why it could not. */
export async function checkPassword(t: LoginTarget): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
  const ms = t.timeoutMs ?? 10_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`Cannot log in: no answer within ${ms} ms`));
      conn.close();
    }, ms);
  });
  const work = exchange(conn, t);
  work.catch(() => {}); // settled after a timeout: the race already rejected
  try {
    await Promise.race([work, timeout]);
    await conn.write(frame("X")).catch(() => {}); // Terminate
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timeout */ }
  }
}
