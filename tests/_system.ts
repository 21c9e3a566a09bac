/**
 * Starts the real supervisor process (`supervisor/main.ts`) as a subprocess for end-to-end tests
 * (the status page in Chromium, `deno task status`): it prints `{"event":"listening","url":…}` on
 * stdout once its status server listens.
 *
 * @module
 */

const MAIN = new URL("../supervisor/main.ts", import.meta.url).pathname;

/** The test actor's module URL. */
export const TEST_ACTOR = new URL("./fixtures/test_actor.ts", import.meta.url).href;

/** A running supervisor process. */
export interface SupervisorProcess extends AsyncDisposable {
  child: Deno.ChildProcess;
  /** Resolves with the status server's base URL. */
  url: Promise<string>;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number>;
}

/** Starts `supervisor/main.ts` with `env` (plus port 0 and quiet logs). */
export function startSupervisor(env: Record<string, string>): SupervisorProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-cron", "--unstable-worker-options", MAIN],
    env: { RECIO_HTTP_PORT: "0", RECIO_LOG_LEVEL: "error", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  let resolveUrl!: (u: string) => void;
  let rejectUrl!: (e: Error) => void;
  const url = new Promise<string>((res, rej) => {
    resolveUrl = res;
    rejectUrl = rej;
  });
  const reading = Promise.all([
    (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        out += chunk;
        const m = out.match(/\{"event":"listening","url":"([^"]+)"/);
        if (m) resolveUrl(m[1]!);
      }
    })(),
    (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
    })(),
  ]);
  url.catch(() => {}); // awaited by the test when it needs it
  child.status.then((s) => rejectUrl(new Error(`supervisor exited ${s.code}: ${err}`)));
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const s = await child.status;
    await reading;
    return s.code;
  };
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    stop,
    [Symbol.asyncDispose]: async () => void (await stop()),
  };
}

/** Writes `specs` to a temporary children file; remove it with `Deno.remove`. */
export async function writeChildrenFile(specs: unknown[]): Promise<string> {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(specs));
  return file;
}
