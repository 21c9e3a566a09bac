/**
 * The login check `login.ts` runs as a child: reads a {@linkcode LoginTarget} as JSON on stdin,
 * logs in to 127.0.0.1 with postgres.js (`lib/db.ts`), runs `select 1`, and prints one
 * {@linkcode LoginOutcome} JSON line. It never prints the password: a refusal is the server's
 * message and SQLSTATE, a connection failure its reason (`lib/db.ts` describes targets without it).
 *
 * @module
 */
import { createSql } from "../db.ts";
import type { LoginOutcome, LoginTarget } from "./login.ts";

/** The login of `t`, as an outcome. */
export async function login(t: LoginTarget): Promise<LoginOutcome> {
  const url = new URL("postgres://127.0.0.1");
  url.port = String(t.port);
  url.username = encodeURIComponent(t.user);
  url.password = encodeURIComponent(t.password);
  url.pathname = `/${encodeURIComponent(t.database)}`;
  const sql = createSql(url.href, {
    max: 1,
    connectTimeout: Math.max(1, Math.ceil((t.timeoutMs ?? 10_000) / 1000)),
    applicationName: t.applicationName ?? "recio-login-check",
  });
  try {
    await sql`select 1`;
    return { ok: true };
  } catch (e) {
    const code = (e as { code?: unknown })?.code;
    const message = e instanceof Error ? e.message : String(e);
    // postgres.js gives connection failures codes too (CONNECT_TIMEOUT, EPIPE): only a
    // PostgresError is the server's refusal, its code a SQLSTATE.
    return (e as { name?: unknown })?.name === "PostgresError" && typeof code === "string"
      ? { ok: false, message, code }
      : { ok: false, message: `${message}${typeof code === "string" ? ` (${code})` : ""}` };
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

if (import.meta.main) {
  const input = await new Response(Deno.stdin.readable).text();
  console.log(JSON.stringify(await login(JSON.parse(input) as LoginTarget)));
}
