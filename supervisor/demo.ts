/**
 * Demo mode's venues: starts `tests/fakes/demo_venues.ts` (the fake Coinbase and Kalshi driven by
 * a simulation) as a process of the heart's tree, and returns the environment that points every
 * actor at it. The actors themselves run exactly as in production; only their URLs and the demo
 * Kalshi key differ.
 *
 * @module
 */
import { resolve } from "node:path";
import { z } from "zod";
import { getLogger } from "../lib/log.ts";

const VENUES = new URL("../tests/fakes/demo_venues.ts", import.meta.url).href;

const Announce = z.object({
  event: z.literal("venues"),
  coinbaseWsUrl: z.string(),
  coinbaseRestUrl: z.string(),
  kalshiBaseUrl: z.string(),
  kalshiWsUrl: z.string(),
  kalshiKeyId: z.string(),
  kalshiKeyPath: z.string(),
  controlUrl: z.string(),
});

/** Running demo venues. */
export interface DemoVenues {
  /** Environment for the supervisor process. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A random token for the drill endpoints, kept in a 0600 file (never logged). */
async function demoToken(dir: string): Promise<{ token: string; file: string }> {
  const file = `${dir}/status-token`;
  try {
    return { token: (await Deno.readTextFile(file)).trim(), file };
  } catch {
    const token = [...crypto.getRandomValues(new Uint8Array(24))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    await Deno.writeTextFile(file, token, { mode: 0o600 });
    return { token, file };
  }
}

/** Starts the venues with access to the database at `databaseUrl` (for pre-seeding prices). */
export async function startDemoVenues(dataDir: string, databaseUrl: string): Promise<DemoVenues> {
  const log = getLogger("demo");
  const dir = resolve(dataDir, "demo");
  await Deno.mkdir(dir, { recursive: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", VENUES, "--dir", dir],
    env: { DATABASE_URL: databaseUrl },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let announce: z.infer<typeof Announce> | undefined;
  const deadline = setTimeout(() => child.kill("SIGKILL"), 60_000);
  while (!announce) {
    const { value, done } = await reader.read();
    if (done) {
      clearTimeout(deadline);
      throw new Error("Cannot start the demo venues: the simulator exited");
    }
    buffered += value;
    for (const line of buffered.split("\n").slice(0, -1)) {
      try {
        const parsed = Announce.safeParse(JSON.parse(line));
        if (parsed.success) announce = parsed.data;
      } catch { /* not JSON */ }
    }
    buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
  }
  clearTimeout(deadline);
  // Keep draining the pipe so the simulator never blocks on a full stdout.
  (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })().catch(() => {});
  const { token, file } = await demoToken(dir);
  log.info("Demo venues running; the drill token is in {file}", { file });
  const env: Record<string, string> = {
    RECIO_DEMO: "1",
    RECIO_COINBASE_FEED: "advanced",
    RECIO_COINBASE_WS_URL: announce.coinbaseWsUrl,
    RECIO_COINBASE_REST_URL: announce.coinbaseRestUrl,
    KALSHI_BASE_URL: announce.kalshiBaseUrl,
    KALSHI_WS_URL: announce.kalshiWsUrl,
    KALSHI_API_KEY_ID: announce.kalshiKeyId,
    KALSHI_PRIVATE_KEY_PATH: announce.kalshiKeyPath,
    RECIO_DEMO_CONTROL_URL: announce.controlUrl,
  };
  if (!Deno.env.get("STATUS_TOKEN")) env.STATUS_TOKEN = token;
  if (!Deno.env.get("RECIO_COORDINATOR_SYMBOLS")) env.RECIO_COORDINATOR_SYMBOLS = "BTC,ETH";
  if (!Deno.env.get("RECIO_MONITOR_INTERVAL_MS")) env.RECIO_MONITOR_INTERVAL_MS = "5000";
  // Drills refuse the key for seconds, not hours: retry it soon.
  if (!Deno.env.get("KALSHI_AUTH_BACKOFF_MS")) env.KALSHI_AUTH_BACKOFF_MS = "5000";
  return {
    env,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
}
