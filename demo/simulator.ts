/**
 * The simulated venues of demo mode, as a process of its own: the fake Coinbase and the fake
 * Kalshi of the tests (`tests/fakes/`, exact wire formats), driven by a simulation:
 * - BTC-USD and ETH-USD follow a random walk (60 % annualised volatility), a few trades per second
 *   with occasional bursts, heartbeats every second;
 * - hourly KXBTCD/KXETHD events (this hour and the next) with 75 strikes centred on the price when
 *   the event is listed, quotes that follow a lognormal model with noise;
 * - a demo account (balance, positions, orders, fills, settlements), signed requests verified with
 *   a key generated here (its private key is written for the account sync to read);
 * - prices that start where the demo's seeded price logs end (`seed.ts`, run first);
 * - a control endpoint for the venue drills: drop or silence the price feed, Kalshi 429s or 401s.
 *
 * It never touches a database. Usage: `deno run -A demo/simulator.ts --dir <demo folder>
 * [--btc <price>] [--eth <price>]`. Prints one JSON line with the URLs, then runs until
 * SIGINT/SIGTERM.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { normCdf } from "../actors/strike_coordinator/closed_form.ts";
import { FakeCoinbase } from "../tests/fakes/coinbase_server.ts";
import {
  fillJson,
  orderJson,
  positionJson,
  settlementJson,
} from "../tests/fakes/kalshi_records.ts";
import { dollars, FakeKalshi, generateTestKeys } from "../tests/fakes/kalshi_server.ts";
import { bearerMatches } from "../lib/same_secret.ts";
import { normal, SIGMA_PER_SQRT_S, START_PRICES } from "./seed.ts";

const HOUR = 3_600_000;

interface Asset {
  symbol: "BTC" | "ETH";
  product: string;
  series: string;
  tier: number;
  price: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { dir: { type: "string" }, btc: { type: "string" }, eth: { type: "string" } },
  });
  const dir = values.dir ?? "./data/demo";
  await Deno.mkdir(dir, { recursive: true });
  const start = (v: string | undefined, fallback: number) => {
    const n = Number(v);
    return v !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;
  };
  const assets: Asset[] = [
    {
      symbol: "BTC",
      product: "BTC-USD",
      series: "KXBTCD",
      tier: 250,
      price: start(values.btc, START_PRICES.BTC),
    },
    {
      symbol: "ETH",
      product: "ETH-USD",
      series: "KXETHD",
      tier: 20,
      price: start(values.eth, START_PRICES.ETH),
    },
  ];

  const coinbase = new FakeCoinbase({ productId: "BTC-USD" });
  const keys = await generateTestKeys();
  const keyPath = `${dir}/kalshi-demo.pem`;
  await Deno.writeTextFile(keyPath, keys.pkcs1Pem, { mode: 0o600 });
  const kalshi = FakeKalshi.start(keys);

  // The demo account.
  kalshi.balanceCents = 250_000;
  kalshi.settlements = Array.from({ length: 12 }, (_, i) => settlementJson(i));
  kalshi.orders = Array.from(
    { length: 6 },
    (_, i) => orderJson(i, ["resting", "executed", "canceled"][i % 3]!),
  );
  kalshi.fills = Array.from({ length: 20 }, (_, i) => fillJson(i));
  for (let i = 0; i < 3; i++) kalshi.positions.push(positionJson(i));
  let fillSeq = 1_000;

  // Events: this hour's and the next one's, per series.
  const listed = new Map<string, { asset: Asset; settle: number }>();
  const listEvents = (now: number) => {
    const next = Math.ceil((now + 1) / HOUR) * HOUR;
    for (const a of assets) {
      for (const settle of [next, next + HOUR]) {
        if ([...listed.values()].some((e) => e.asset === a && e.settle === settle)) continue;
        const lowest = Math.round(a.price / a.tier) * a.tier - 37 * a.tier;
        const ticker = kalshi.addHourlyEvent(a.series, settle, {
          markets: 75,
          tier: a.tier,
          lowestStrike: lowest,
        });
        listed.set(ticker, { asset: a, settle });
      }
    }
    for (const [ticker, e] of listed) {
      if (e.settle < now - HOUR) {
        listed.delete(ticker);
        kalshi.events.delete(ticker);
      }
    }
  };
  const quote = (now: number) => {
    for (const [ticker, e] of listed) {
      const ev = kalshi.events.get(ticker);
      if (!ev) continue;
      const ttc = Math.max(1, (e.settle - now) / 1000);
      for (const m of ev.markets) {
        const k = Number(m.floor_strike);
        const p = normCdf(Math.log(e.asset.price / k) / (SIGMA_PER_SQRT_S * Math.sqrt(ttc)));
        const noise = Math.round(normal());
        const bid = Math.min(98, Math.max(1, Math.round(p * 100) - 1 + noise));
        const ask = bid + 1 + (Math.random() < 0.3 ? 1 : 0);
        const volume = Number.parseFloat(String(m.volume_fp ?? "0")) +
          (Math.random() < 0.2 ? Math.floor(Math.random() * 50) : 0);
        kalshi.updateMarket(String(m.ticker), {
          yes_bid_dollars: dollars(bid),
          yes_ask_dollars: dollars(ask),
          no_bid_dollars: dollars(100 - ask),
          no_ask_dollars: dollars(100 - bid),
          last_price_dollars: dollars(bid),
          volume_fp: `${volume}.00`,
          status: e.settle > now ? "active" : "closed",
        });
      }
    }
  };

  // The simulation.
  const timers: ReturnType<typeof setInterval>[] = [];
  timers.push(setInterval(() => {
    const now = Date.now();
    for (const a of assets) {
      const trades = Math.random() < 0.01
        ? 5 + Math.floor(Math.random() * 6)
        : Math.random() < 0.8
        ? 1
        : 0;
      for (let i = 0; i < trades; i++) {
        a.price *= Math.exp(SIGMA_PER_SQRT_S * 0.5 * normal());
        coinbase.tick({ price: a.price.toFixed(2), timeMs: now + i, productId: a.product });
      }
    }
  }, 250));
  timers.push(setInterval(() => coinbase.heartbeat(Date.now()), 1_000));
  listEvents(Date.now());
  quote(Date.now());
  timers.push(setInterval(() => {
    const now = Date.now();
    listEvents(now);
    quote(now);
  }, 2_000));
  timers.push(setInterval(() => {
    const f = { ...fillJson(fillSeq++), created_time: new Date().toISOString() };
    kalshi.pushFill(f);
    kalshi.balanceCents -= 112;
  }, 15_000));

  // Fault drills.
  const later = (ms: number, f: () => void) => timers.push(setTimeout(f, ms) as never);
  // Only the demo's drill server, which holds the same token as the status API, may use it.
  const token = Deno.env.get("RECIO_SIMULATOR_TOKEN") ?? "";
  if (token.length < 16) throw new Error("Cannot start the simulator: RECIO_SIMULATOR_TOKEN unset");
  const control = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      if (!(await bearerMatches(req.headers.get("authorization"), token))) {
        return new Response("a valid bearer token is required", {
          status: 401,
          headers: { "www-authenticate": "Bearer" },
        });
      }
      const url = new URL(req.url);
      const seconds = Math.min(600, Math.max(1, Number(url.searchParams.get("seconds") ?? "10")));
      if (req.method !== "POST") return new Response("POST only", { status: 405 });
      switch (url.pathname) {
        case "/drill/drop_price_feed":
          coinbase.dropConnections();
          return Response.json({ drill: "drop_price_feed" });
        case "/drill/silence_price_feed":
          coinbase.silence(true);
          later(seconds * 1000, () => coinbase.silence(false));
          return Response.json({ drill: "silence_price_feed", seconds });
        case "/drill/kalshi_429": {
          const fault = { status: 429, times: 1_000_000, retryAfterS: 1 };
          kalshi.faults.push(fault);
          later(seconds * 1000, () => (kalshi.faults = kalshi.faults.filter((f) => f !== fault)));
          return Response.json({ drill: "kalshi_429", seconds });
        }
        case "/drill/kalshi_401":
          // A revoked key: open sessions end too, so every client meets the refusal at once.
          kalshi.authorised = false;
          kalshi.dropSockets();
          later(seconds * 1000, () => (kalshi.authorised = true));
          return Response.json({ drill: "kalshi_401", seconds });
        default:
          return new Response("unknown drill", { status: 404 });
      }
    },
  );

  console.log(JSON.stringify({
    event: "venues",
    coinbaseWsUrl: coinbase.advancedUrl,
    coinbaseRestUrl: coinbase.restUrl,
    kalshiBaseUrl: kalshi.baseUrl,
    kalshiWsUrl: kalshi.wsUrl,
    kalshiKeyId: keys.keyId,
    kalshiKeyPath: keyPath,
    controlUrl: `http://127.0.0.1:${control.addr.port}`,
  }));

  const stop = async () => {
    for (const t of timers) clearInterval(t);
    await control.shutdown();
    await coinbase.close();
    await kalshi.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

if (import.meta.main) await main();
