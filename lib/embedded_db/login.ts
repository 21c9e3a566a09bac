/**
 * One login to the embedded server: the start-up check that the stored password opens the
 * cluster. The login itself is postgres.js's (through `lib/db.ts`, SCRAM-SHA-256 as `initdb
 * --auth=scram-sha-256` asks for, or trust), run in a short-lived child process
 * (`login_check.ts`), because the heart runs this check and a module once loaded stays in a Deno
 * process for its life: postgres.js with Node's `net` and `stream` would cost the heart about
 * 10 MiB RSS for good (`bench/supervisor.ts` prints the heart's RSS). The password goes to the
 * child on its stdin, never in its arguments or environment.
 *
 * A refusal rejects with a {@linkcode LoginRefused} carrying the server's message and SQLSTATE
 * (`code`, e.g. `28P01` for a wrong password), as postgres.js reports one; no answer within
 * `timeoutMs` rejects too (the child is killed).
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
  /** Bound on the whole check; default 10 000 ms. */
  timeoutMs?: number;
}

/** A refusal by the server: its message, with its SQLSTATE as `code`. */
export class LoginRefused extends Error {
  override name = "LoginRefused";
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

/** What `login_check.ts` prints: nothing on success, or why the login failed. */
export interface LoginOutcome {
  ok: boolean;
  message?: string;
  /** The SQLSTATE of a refusal by the server; absent for a connection that failed. */
  code?: string;
}

const CHECK = new URL("./login_check.ts", import.meta.url).href;

/** Logs in once to 127.0.0.1:`port` and ends the session; rejects with why it could not. */
export async function checkPassword(t: LoginTarget): Promise<void> {
  const ms = t.timeoutMs ?? 10_000;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHECK],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, ms);
  try {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify({ ...t, timeoutMs: ms })));
    await w.close();
    const out = await child.output();
    if (timedOut) throw new Error(`Cannot log in: no answer within ${ms} ms`);
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    let outcome: LoginOutcome;
    try {
      outcome = JSON.parse(line) as LoginOutcome;
    } catch {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
      throw new Error(`Cannot log in: the login check exited with ${out.code}: ${err ?? ""}`);
    }
    if (outcome.ok) return;
    if (outcome.code) throw new LoginRefused(outcome.message ?? "login refused", outcome.code);
    throw new Error(`Cannot log in: ${outcome.message ?? "the connection failed"}`);
  } finally {
    clearTimeout(timer);
  }
}
