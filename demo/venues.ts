/**
 * What `deno task demo` adds to the heart before its first supervisor (the heart's `prepare`
 * hook): the demo's database (checked, migrated, marked and seeded by `seed.ts`; a live database
 * is refused before anything is written), the simulated venues (`simulator.ts`, a process of the
 * heart's tree) and the drill server (`drills.ts`, in this process, next to the heart's embedded
 * database). It returns the environment that points every actor at the simulator; the actors run
 * exactly as in production, only their URLs and the demo Kalshi key differ.
 *
 * @module
 */
import { z } from "zod";
import type { Config } from "../lib/config.ts";
import { createSql } from "../lib/db.ts";
import { getLogger, redactText } from "../lib/log.ts";
import { EventLog } from "../supervisor/event_log.ts";
import type { PrepareContext } from "../supervisor/heart.ts";
import { problem } from "../supervisor/http_problem.ts";
import { createDrills } from "./drills.ts";
import { prepareDemoDatabase } from "./seed.ts";

const SIMULATOR = new URL("./simulator.ts", import.meta.url).href;

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

/** What the demo started: the supervisor's extra environment, and how to stop it all. */
export interface DemoServices {
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A random token for the control endpoints, kept in a 0600 file of the demo folder. */
async function demoToken(dir: string): Promise<{ token: string; file: string }> {
  const file = `${dir}/status-token`;
  try {
    const token = (await Deno.readTextFile(file)).trim();
    if (token.length >= 16) return { token, file };
  } catch { /* made below */ }
  const token = [...crypto.getRandomValues(new Uint8Array(24))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.writeTextFile(file, token, { mode: 0o600 });
  return { token, file };
}

/** Starts the simulator and waits for its announcement line. */
async function startSimulator(
  dir: string,
  prices: { BTC: number; ETH: number },
  token: string,
) {
  const child = new Deno.Command(Deno.execPath(), {
    // The control token reaches the simulator in its environment, never on its command line.
    env: { RECIO_SIMULATOR_TOKEN: token },
    args: [
      "run",
      "-A",
      SIMULATOR,
      "--dir",
      dir,
      "--btc",
      String(prices.BTC),
      "--eth",
      String(
        prices.ETH,
      ),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let announce: z.infer<typeof Announce> | undefined;
  const deadline = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    while (!announce) {
      const { value, done } = await reader.read();
      if (done) throw new Error("Cannot start the demo venues: the simulator exited");
      buffered += value;
      for (const line of buffered.split("\n").slice(0, -1)) {
        try {
          const parsed = Announce.safeParse(JSON.parse(line));
          if (parsed.success) announce = parsed.data;
        } catch { /* not JSON */ }
      }
      buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
    }
  } finally {
    clearTimeout(deadline);
  }
  // Keep draining the pipe so the simulator never blocks on a full stdout.
  (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })().catch(() => {});
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  };
  return { announce, stop };
}

/** The heart's `prepare` hook of `deno task demo`; `config` is the demo's (its own data folder). */
export async function startDemo(ctx: PrepareContext, config: Config): Promise<DemoServices> {
  const log = getLogger("demo");
  const dir = config.dataDir;
  await Deno.mkdir(dir, { recursive: true });
  // First, and before anything else is written: refuses a database that is not the demo's.
  const prices = await prepareDemoDatabase(ctx.databaseUrl, { log });
  const { token, file } = Deno.env.get("STATUS_TOKEN")
    ? { token: Deno.env.get("STATUS_TOKEN")!, file: undefined }
    : await demoToken(dir);
  const venues = await startSimulator(dir, prices, token);
  try {
    return withDrills(ctx, config, venues, { token, file });
  } catch (e) {
    await venues.stop();
    throw e;
  }
}

function withDrills(
  ctx: PrepareContext,
  config: Config,
  venues: Awaited<ReturnType<typeof startSimulator>>,
  { token, file }: { token: string; file: string | undefined },
): DemoServices {
  const log = getLogger("demo");

  const sql = createSql(ctx.databaseUrl, { max: 1, applicationName: "recio-demo-drills" });
  const events = new EventLog(sql, { node: config.node });
  const terminate = async (actor: string) => {
    const r = await fetch(`${ctx.statusUrl}/actors/${encodeURIComponent(actor)}/kill`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    }).catch(() => problem(503, "the supervisor does not answer"));
    const body = await r.json().catch(() => undefined) as { detail?: string } | undefined;
    if (r.status === 404 || r.status === 409) {
      problem(r.status, redactText(String(body?.detail ?? `cannot terminate "${actor}"`)));
    }
    if (!r.ok) problem(503, `the supervisor answered ${r.status}`);
  };
  const embedded = ctx.embedded;
  const drills = createDrills({
    venueUrl: venues.announce.controlUrl,
    venueToken: token,
    terminate,
    outage: embedded ? (ms) => embedded.outage(ms) : undefined,
    record: (event, reason) => events.record({ actorId: null, event, reason }),
    token,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    drills.app.fetch,
  );
  if (file) log.info("Demo venues running; the control token is in {file}", { file });
  const a = venues.announce;
  const env: Record<string, string> = {
    RECIO_DEMO: "1",
    RECIO_COINBASE_FEED: "advanced",
    RECIO_COINBASE_WS_URL: a.coinbaseWsUrl,
    RECIO_COINBASE_REST_URL: a.coinbaseRestUrl,
    KALSHI_BASE_URL: a.kalshiBaseUrl,
    KALSHI_WS_URL: a.kalshiWsUrl,
    KALSHI_API_KEY_ID: a.kalshiKeyId,
    KALSHI_PRIVATE_KEY_PATH: a.kalshiKeyPath,
    RECIO_DEMO_CONTROL_URL: `http://127.0.0.1:${server.addr.port}`,
    STATUS_TOKEN: token,
  };
  if (!Deno.env.get("RECIO_COORDINATOR_SYMBOLS")) env.RECIO_COORDINATOR_SYMBOLS = "BTC,ETH";
  if (!Deno.env.get("RECIO_MONITOR_INTERVAL_MS")) env.RECIO_MONITOR_INTERVAL_MS = "5000";
  // Drills refuse the key for seconds, not hours: retry it soon.
  if (!Deno.env.get("KALSHI_AUTH_BACKOFF_MS")) env.KALSHI_AUTH_BACKOFF_MS = "5000";
  return {
    env,
    stop: async () => {
      drills.close();
      await server.shutdown();
      await venues.stop();
      await events.flush(5_000);
      events.close();
      await sql.end({ timeout: 2 });
    },
  };
}
