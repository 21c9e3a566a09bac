/**
 * Several real supervisor processes on one test database (cluster mode): each node gets its own
 * fake Coinbase whose prices tell the nodes apart (node k trades at `k * 1000 + n / 100`), so a
 * test can see which node wrote each second. {@linkcode Market} ticks every fake on one schedule
 * (the same seconds everywhere, as one exchange would); {@linkcode startNode} starts
 * `supervisor/main.ts` with a children file and `RECIO_NODE`; {@linkcode writerOf} reads a
 * price row's node back from its price.
 *
 * @module
 */
import { FakeCoinbase } from "./fakes/coinbase_server.ts";
import { hostPort } from "../lib/host_port.ts";
import { startSupervisor, type SupervisorProcess, writeChildrenFile } from "./_system.ts";

export const PRICE_WATCHDOG = new URL("../actors/price_watchdog/worker.ts", import.meta.url).href;
export const TOKEN = "cluster-test-token-0123456789";

/** One node: its process, its fake venue, its price base. */
export interface ClusterNode extends AsyncDisposable {
  name: string;
  index: number;
  proc: SupervisorProcess;
  fake: FakeCoinbase;
  url: Promise<string>;
  /** GET a JSON document of the node's status API. */
  get<T = unknown>(path: string): Promise<T>;
  /** POST a control request with the token; resolves with the status and body. */
  post(path: string): Promise<{ status: number; body: unknown }>;
  kill(signal: Deno.Signal): void;
  /** SIGTERM and wait: the exit code. */
  stop(): Promise<number>;
}

/** The price watchdog of BTC as a warm singleton against `fake`. */
export function priceWatchdogSpec(fake: FakeCoinbase): Record<string, unknown> {
  return {
    id: "price_watchdog:btc",
    module: PRICE_WATCHDOG,
    args: { symbol: "BTC", wsUrl: fake.advancedUrl, restUrl: fake.restUrl, flushMs: 50 },
    singleton: "warm",
    heartbeatMs: 250,
    hangAfterMs: 10_000,
    freshness: null,
    permissions: { net: [hostPort(fake.advancedUrl), hostPort(fake.restUrl)] },
  };
}

/** Starts node `name` (index `index` sets its prices) on `databaseUrl`. */
export async function startNode(o: {
  databaseUrl: string;
  name: string;
  index: number;
  /** Extra child specs (e.g. a cold singleton), after the price watchdog. */
  children?: (fake: FakeCoinbase) => Record<string, unknown>[];
  env?: Record<string, string>;
}): Promise<ClusterNode> {
  const fake = new FakeCoinbase();
  const file = await writeChildrenFile([priceWatchdogSpec(fake), ...(o.children?.(fake) ?? [])]);
  const proc = startSupervisor({
    DATABASE_URL: o.databaseUrl,
    RECIO_NODE: o.name,
    RECIO_CHILDREN_FILE: file,
    RECIO_JOBS_ENABLED: "false",
    STATUS_TOKEN: TOKEN,
    ...o.env,
  });
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${await proc.url}${path}`);
    if (!res.ok) throw new Error(`GET ${path} on ${o.name}: ${res.status} ${await res.text()}`);
    return await res.json() as T;
  };
  const post = async (path: string) => {
    const res = await fetch(`${await proc.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  };
  let stopped: Promise<number> | undefined;
  const stop = () => stopped ??= proc.stop();
  const kill = (signal: Deno.Signal) => {
    try {
      proc.child.kill(signal);
    } catch { /* already gone */ }
  };
  return {
    name: o.name,
    index: o.index,
    proc,
    fake,
    url: proc.url,
    get,
    post,
    kill,
    stop,
    async [Symbol.asyncDispose]() {
      kill("SIGCONT"); // a paused node must be able to stop
      await stop();
      await fake[Symbol.asyncDispose]();
      await Deno.remove(file).catch(() => {});
    },
  };
}

/** Node k's price for trade n: k thousand plus n cents (numeric(20, 8) keeps it exactly). */
export function priceOf(index: number, n: number): string {
  return (index * 1000 + n / 100).toFixed(2);
}

/** The node index that wrote `price` (see {@linkcode priceOf}). */
export function writerOf(price: string): number {
  return Math.floor(Number(price) / 1000);
}

/** Ticks every node's fake on one schedule: a trade every `everyMs`, heartbeats with it. */
export class Market implements Disposable {
  #timer: ReturnType<typeof setInterval>;
  #n = 0;
  /** Exchange times of every trade sent (the same for every node). */
  readonly sent: number[] = [];

  constructor(nodes: () => readonly ClusterNode[], everyMs = 200) {
    this.#timer = setInterval(() => {
      const timeMs = Date.now();
      const n = ++this.#n;
      this.sent.push(timeMs);
      for (const node of nodes()) {
        node.fake.tick({ timeMs, price: priceOf(node.index, n) });
        node.fake.heartbeat(timeMs);
      }
    }, everyMs);
  }

  /** Stops trading. */
  stop(): void {
    clearInterval(this.#timer);
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}

/** The second (epoch ms) of `t`. */
export const secondOf = (t: number) => Math.floor(t / 1000) * 1000;

/** Every second from the first to the last in `seconds` that is missing from it. */
export function missingSeconds(seconds: readonly number[]): number[] {
  if (seconds.length === 0) return [];
  const have = new Set(seconds);
  const out: number[] = [];
  for (let t = seconds[0]!; t <= seconds[seconds.length - 1]!; t += 1000) {
    if (!have.has(t)) out.push(t);
  }
  return out;
}
