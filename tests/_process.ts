/**
 * Process and file checks shared by the tests of the heart and the embedded database, and the
 * one way the tests run a `deno` subprocess (a task or a command) and read what it printed.
 *
 * @module
 */

/** Whether `pid` is a live process (a zombie or a dead one is not). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The existence check of the embedded database's own code, for the tests' asserts. */
export { exists } from "../lib/embedded_db/pg_ctl.ts";

/** What a finished `deno` subprocess printed, decoded. */
export interface DenoRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode runDeno}. */
export interface RunDenoOptions {
  env?: Record<string, string>;
  /** Pass only `env`, plus what Deno needs to find its cache (PATH, HOME, DENO_DIR, XDG_CACHE_HOME). */
  clearEnv?: boolean;
  cwd?: string;
}

/** Runs `deno <args>` (a task, or a command's entry point) to its end, stdin closed. */
export async function runDeno(args: string[], options: RunDenoOptions = {}): Promise<DenoRun> {
  const env: Record<string, string> = {};
  if (options.clearEnv) {
    for (const k of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
      const v = Deno.env.get(k);
      if (v !== undefined) env[k] = v;
    }
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: { ...env, ...options.env },
    clearEnv: options.clearEnv ?? false,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
