/**
 * The child list: actors named by module URL, never imported, so an actor can be added or
 * changed without touching the supervisor. `RECIO_CHILDREN_FILE` (a JSON array of child specs)
 * replaces the list, for custom deployments and tests.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import { ConfigError, SupervisorError } from "../lib/errors.ts";
import { pgBinDirs } from "../lib/pg_tools.ts";
import {
  ACTOR_ARGS,
  type ActorArgsInput,
  type ActorName,
  COINBASE_URLS,
  parseActorArgs,
} from "../schema/actor_args.ts";
import { hostPort } from "../lib/host_port.ts";
import type { ChildSpec, ChildSpecInput } from "./child_spec.ts";
import {
  kalshiAccountSyncSpecs,
  kalshiHistoricalIngestSpec,
  kalshiMarketWatchdogSpec,
} from "./kalshi_children.ts";
import type { JobDefinition } from "./jobs.ts";

const actor = (name: string) => new URL(`../actors/${name}/worker.ts`, import.meta.url).href;

/** One `price_watchdog:<sym>` per configured symbol; network only to its feed hosts. */
export function priceWatchdogChildren(config: Config): ChildSpecInput[] {
  const feed = config.coinbase.feed;
  const wsUrl = config.coinbase.wsUrl ?? COINBASE_URLS[feed];
  const restUrl = config.coinbase.restUrl ?? COINBASE_URLS.rest;
  const net = [...new Set([hostPort(wsUrl), hostPort(restUrl)])];
  return config.symbols.map((raw) => {
    const symbol = raw.trim().toUpperCase();
    return {
      id: `price_watchdog:${symbol.toLowerCase()}`,
      module: actor("price_watchdog"),
      args: {
        symbol,
        productId: `${symbol}-USD`,
        feed,
        wsUrl,
        restUrl,
      } satisfies ActorArgsInput<"price_watchdog">,
      heartbeatMs: 1_000,
      hangAfterMs: 10_000,
      // A feed that is connected but not advancing is restarted.
      freshness: config.coinbase.freshnessMs,
      freshnessGraceMs: 30_000,
      permissions: { net },
      // Every node keeps the feed and its seconds; the lease holder writes them.
      singleton: "warm",
    };
  });
}

/** One `strike_coordinator:<sym>` per coordinator symbol, after its price watchdog. */
export function coordinatorChildren(config: Config, after: readonly string[]): ChildSpecInput[] {
  const c = config.coordinator;
  return c.symbols.map((raw) => {
    const symbol = raw.trim().toUpperCase();
    const feed = `price_watchdog:${symbol.toLowerCase()}`;
    return {
      id: `strike_coordinator:${symbol.toLowerCase()}`,
      module: actor("strike_coordinator"),
      args: {
        symbol,
        mode: c.mode,
        cycleMs: c.cycleMs,
        strikeCount: c.strikeCount,
        volWindowS: c.volWindowS,
        volFloorAnnual: c.volFloorAnnual,
        momentumDrift: c.momentumDrift,
        priceMaxAgeMs: c.priceMaxAgeMs,
        marketMaxAgeMs: c.marketMaxAgeMs,
        outputDir: c.outputDir,
        watchlist: c.watchlist,
      } satisfies ActorArgsInput<"strike_coordinator">,
      dependsOn: after.filter((id) => id === feed || id.startsWith("kalshi_market_watchdog")),
      heartbeatMs: 1_000,
      hangAfterMs: 15_000,
      // Staleness of its inputs is reported (degraded), not cured by a restart.
      freshness: null,
      permissions: { write: [c.outputDir], read: [c.outputDir] },
      singleton: "cold",
    };
  });
}

/** `path` made absolute against the working directory (worker permissions and job args). */
function absolutePath(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path.replace(/^\.\//, "")}`;
}

/** Executables of `tool` in the folders that may hold PostgreSQL client tools. */
function pgToolPaths(tool: string, preferred: string | undefined): string[] {
  return pgBinDirs(preferred).map((d) => `${d}/${tool}`).filter((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

/**
 * The scheduled jobs: transient children that start only when their schedule (or a request)
 * says so, do their work once and exit normally. Work happens in `start()`, hence the long
 * start timeouts; a crash is retried a few times with a long backoff.
 */
export function jobChildren(config: Config): ChildSpecInput[] {
  const retry = {
    backoff: { minMs: 5_000, maxMs: 300_000, factor: 4, jitter: 0.2, resetAfterMs: 600_000 },
    intensity: { maxRestarts: 2, periodMs: 3_600_000, coolDownMs: 3_600_000 },
  };
  const job = (id: string, startTimeoutMs: number): ChildSpecInput => ({
    id,
    module: new URL(`../actors/jobs/${id}/worker.ts`, import.meta.url).href,
    restart: "transient",
    autostart: false,
    heartbeatMs: 1_000,
    hangAfterMs: 60_000,
    startTimeoutMs,
    shutdownMs: 15_000,
    ...retry,
  });
  const backupDir = absolutePath(config.backup.dir);
  const restUrl = config.coinbase.restUrl ?? COINBASE_URLS.rest;
  const pgDumps = pgToolPaths("pg_dump", config.backup.pgBinDir);
  return [
    {
      ...job("partition_maintenance", 30 * 60_000),
      args: {
        monthsAhead: config.jobs.monthsAhead,
        retentionMonths: config.jobs.retentionMonths,
      } satisfies ActorArgsInput<"partition_maintenance">,
    },
    {
      ...job("retention", 60 * 60_000),
      args: {
        retentionMonths: config.jobs.retentionMonths,
      } satisfies ActorArgsInput<"retention">,
    },
    {
      ...job("backup", 6 * 60 * 60_000),
      args: {
        dir: backupDir,
        pgBinDirs: pgDumps.map((p) => p.slice(0, p.lastIndexOf("/"))),
        keepDaily: config.backup.keepDaily,
        keepWeekly: config.backup.keepWeekly,
      } satisfies ActorArgsInput<"backup">,
      // pg_dump itself (every candidate; the job picks the one that fits the server) and the
      // backup folder; nothing else.
      permissions: { run: pgDumps, read: [backupDir], write: [backupDir] },
      shutdownMs: 30_000,
    },
    {
      ...job("history_backfill", 6 * 60 * 60_000),
      args: {
        symbols: config.symbols.map((s) => s.trim().toUpperCase()),
        days: config.jobs.historyBackfillDays,
        restUrl,
      } satisfies ActorArgsInput<"history_backfill">,
      // Coinbase's public REST host only (the supervisor adds the database).
      permissions: { net: [hostPort(restUrl)] },
    },
    ...kalshiIngestChildren(config).map((spec) => ({ ...spec, ...retry })),
  ];
}

/**
 * One `kalshi_historical_ingest:<user>` job per configured user, only when Kalshi credentials
 * are configured: without a key there is nothing it could read.
 */
function kalshiIngestChildren(config: Config): ChildSpecInput[] {
  const k = config.kalshi;
  const apiKeyId = k.apiKeyId;
  const privateKeyPath = k.privateKeyPath;
  if (!apiKeyId || !privateKeyPath) return [];
  return k.users.map((user) =>
    kalshiHistoricalIngestSpec({
      baseUrl: k.baseUrl,
      user,
      apiKeyId,
      privateKeyPath,
      readPerSecond: k.readPerSecond,
    })
  );
}

/** The schedule of each job in {@linkcode jobChildren}. */
export function jobDefinitions(config: Config): JobDefinition[] {
  const s = config.jobs.schedules;
  return [
    {
      name: "partition_maintenance",
      childId: "partition_maintenance",
      schedule: s.partition_maintenance,
    },
    { name: "retention", childId: "retention", schedule: s.retention },
    { name: "backup", childId: "backup", schedule: s.backup },
    { name: "history_backfill", childId: "history_backfill", schedule: s.history_backfill },
    ...kalshiIngestChildren(config).map((spec) => ({
      name: spec.id,
      childId: spec.id,
      schedule: s.kalshi_historical_ingest,
    })),
  ];
}

/** The default supervision tree for `config`. */
export function defaultChildren(config: Config): ChildSpecInput[] {
  // Database access (net to its host, the PG* env) is added by the supervisor for every child
  // with `database: true`.
  const list: ChildSpecInput[] = [
    {
      id: "system_monitor",
      module: actor("system_monitor"),
      args: {
        intervalMs: config.monitorIntervalMs,
        dataDir: config.dataDir,
      } satisfies ActorArgsInput<"system_monitor">,
      heartbeatMs: 1_000,
      hangAfterMs: 15_000,
      // A check run every intervalMs is the monitor's data.
      freshness: config.monitorIntervalMs * 3 + 10_000,
      freshnessGraceMs: config.monitorIntervalMs + 10_000,
      permissions: { read: [config.dataDir], sys: ["statfs"] },
    },
    ...priceWatchdogChildren(config),
    ...kalshiChildren(config),
  ];
  list.push(...coordinatorChildren(config, list.map((c) => c.id)));
  list.push(...jobChildren(config));
  return list;
}

/** Reads a JSON child list (relative `module` paths resolve against the file). */
export function readChildrenFile(path: string): ChildSpecInput[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Deno.readTextFileSync(path));
  } catch (cause) {
    throw new ConfigError(`Cannot read RECIO_CHILDREN_FILE "${path}": not a readable JSON file`, {
      cause,
    });
  }
  if (!Array.isArray(parsed)) {
    throw new ConfigError(`Cannot read RECIO_CHILDREN_FILE "${path}": expected a JSON array`);
  }
  const base = new URL(`file://${path.startsWith("/") ? path : `${Deno.cwd()}/${path}`}`);
  return parsed.map((s) =>
    s && typeof s === "object" && typeof (s as { module?: unknown }).module === "string"
      ? { ...s, module: new URL((s as { module: string }).module, base).href }
      : s
  );
}

/** Refuses to start when a child's module file does not exist (a clear error beats a crash loop). */
export function assertModulesExist(specs: readonly ChildSpec[]): void {
  for (const s of specs) {
    if (!s.module.startsWith("file:")) continue;
    try {
      Deno.statSync(new URL(s.module));
    } catch {
      throw new SupervisorError(`Cannot start child "${s.id}": module not found (${s.module})`);
    }
  }
}

const ACTORS_ROOT = new URL("../actors/", import.meta.url).href;

/**
 * The actor whose worker `module` is (`actors/<name>/worker.ts`, `actors/jobs/<name>/worker.ts`),
 * when it has a schema of arguments; undefined for any other module (a test's own actor).
 */
export function actorOfModule(module: string): ActorName | undefined {
  if (!module.startsWith(ACTORS_ROOT)) return undefined;
  const m = /^(?:jobs\/)?([a-z_]+)\/worker\.ts$/.exec(module.slice(ACTORS_ROOT.length));
  return m && Object.hasOwn(ACTOR_ARGS, m[1]!) ? m[1] as ActorName : undefined;
}

/**
 * Refuses to start when a child of one of the system's actors has arguments its worker would
 * refuse (`schema/actor_args.ts`): a clear error naming the child and the key, exit 2, instead of
 * that child failing to start again and again.
 */
export function assertArgsValid(specs: readonly ChildSpec[]): void {
  for (const s of specs) {
    const name = actorOfModule(s.module);
    if (name === undefined) continue;
    try {
      parseActorArgs(name, s.args);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw new ConfigError(`Child "${s.id}": ${e.message}`);
    }
  }
}

/** The Kalshi market watchdog and one account sync per configured user. */
export function kalshiChildren(config: Config): ChildSpecInput[] {
  const k = config.kalshi;
  return [
    kalshiMarketWatchdogSpec({
      baseUrl: k.baseUrl,
      series: k.series,
      pollMs: k.pollMs,
      readPerSecond: k.readPerSecond,
      archiveDir: k.archiveDir,
    }),
    ...kalshiAccountSyncSpecs({
      baseUrl: k.baseUrl,
      wsUrl: k.wsUrl,
      users: k.users,
      apiKeyId: k.apiKeyId,
      privateKeyPath: k.privateKeyPath,
      authBackoffMs: k.authBackoffMs,
      readPerSecond: k.readPerSecond,
      writePerSecond: k.writePerSecond,
    }),
  ];
}
