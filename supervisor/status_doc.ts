/**
 * The `GET /status` document, built once and served as bytes to every request until it is
 * `maxAgeMs` (250 ms) old on the app's clock or something the app itself changed marks it stale
 * (a counted rejection, a control request): then the next request rebuilds it, and concurrent
 * requests share that one build.
 *
 * Built per request, the document cost about 1 ms of the event loop (the jobs' next cron times
 * alone were about 0.45 ms) and three database round trips one after the other, so `/status`
 * answered about 1,100 req/s where a raw `Deno.serve` of the same bytes answers about 28,000
 * (`bench/http.ts`). Nothing is refreshed while nobody asks: an idle server sends no query.
 *
 * Every field keeps its meaning, as of the instant the document was built: `now` is that instant
 * (the actors' ages are measured to it), so an answer is at most `maxAgeMs` behind the
 * supervisor's state (plus one database round trip for `database`, `health` and `cluster`).
 *
 * @example
 * ```ts ignore
 * const doc = new StatusDocument({ view, clock, version: "1.0", ping, health, httpRejected });
 * const bytes = await doc.bytes(); // JSON, built at most every 250 ms
 * doc.invalidate(); // the next bytes() rebuilds
 * ```
 *
 * @module
 */
import type { Clock } from "../lib/clock.ts";
import type { Sql } from "../lib/db.ts";
import type { ClusterDoc } from "./cluster.ts";
import { REJECTED_PREFIX } from "./http_metrics.ts";
import type { ChildStatus, SupervisorView } from "./types.ts";

/** How long one built document is served (ms, on the app's monotonic clock). */
export const STATUS_MAX_AGE_MS = 250;

/** Database reachability as `/status` and `/readyz` show it. */
export interface DbPing {
  reachable: boolean;
  latencyMs: number | null;
}

/**
 * Shares one in-flight call among concurrent callers: a burst of `/status` or `/readyz` requests
 * costs one database round trip, and each caller still gets an answer no older than that trip.
 */
export function singleFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => (pending ??= fn().finally(() => (pending = undefined)));
}

/** Database reachability and round-trip time of `select 1`, bounded by `timeoutMs`. */
export async function pingDb(sql: Sql, clock: Clock, timeoutMs: number): Promise<DbPing> {
  const t0 = clock.monotonic();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      sql`select 1`.execute(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
      }),
    ]);
    return { reachable: true, latencyMs: Math.round((clock.monotonic() - t0) * 100) / 100 };
  } catch {
    return { reachable: false, latencyMs: null };
  } finally {
    clearTimeout(timer);
  }
}

/** Rejected-input totals from the children's `rejected.<reason>` counters and the server's own. */
export function rejectedTotals(children: ChildStatus[], http: Record<string, number>) {
  const byReason: Record<string, number> = {};
  const byActor: Record<string, number> = {};
  let total = 0;
  const addAll = (actor: string, counters: Record<string, number>, prefixed: boolean) => {
    for (const [name, n] of Object.entries(counters)) {
      if (prefixed && !name.startsWith(REJECTED_PREFIX)) continue;
      const reason = prefixed ? name.slice(REJECTED_PREFIX.length) : name;
      byReason[reason] = (byReason[reason] ?? 0) + n;
      byActor[actor] = (byActor[actor] ?? 0) + n;
      total += n;
    }
  };
  for (const c of children) addAll(c.id, c.counters, true);
  addAll("http", http, false);
  return { total, byReason, byActor };
}

/** What the document is made of. */
export interface StatusDocDeps {
  view: SupervisorView;
  clock: Clock;
  version: string;
  /** `select 1` (shared with `/readyz`). */
  ping(): Promise<DbPing>;
  /** The newest health row, or null (asked only while the database is reachable). */
  health(): Promise<unknown>;
  /** Cluster mode's document (asked only while the database is reachable). */
  cluster?: () => Promise<ClusterDoc>;
  jobs?: () => unknown;
  /** The server's own rejected-input counters (read at each build). */
  httpRejected: Record<string, number>;
  maxAgeMs?: number;
}

interface Built {
  bytes: Uint8Array<ArrayBuffer>;
  /** Monotonic instant the supervisor's state was read. */
  at: number;
  /** The invalidation generation it was started in. */
  generation: number;
}

/** The cached `/status` document. */
export class StatusDocument {
  #deps: StatusDocDeps;
  #maxAgeMs: number;
  #built: Built | undefined;
  /** Bumped by {@linkcode invalidate}; a document built in an older one is stale. */
  #generation = 0;
  #building: Promise<Built> | undefined;
  #buildingGeneration = -1;
  #builds = 0;

  constructor(deps: StatusDocDeps) {
    this.#deps = deps;
    this.#maxAgeMs = deps.maxAgeMs ?? STATUS_MAX_AGE_MS;
  }

  /** Documents built so far. */
  get builds(): number {
    return this.#builds;
  }

  /** Marks the document stale: the next request rebuilds it (a change the app made). */
  invalidate(): void {
    this.#generation++;
  }

  /** The current document (fresh: not older than `maxAgeMs`, nor invalidated since). */
  bytes(): Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>> {
    const b = this.#built;
    if (
      b && b.generation === this.#generation &&
      this.#deps.clock.monotonic() - b.at < this.#maxAgeMs
    ) {
      return b.bytes;
    }
    if (!this.#building || this.#buildingGeneration !== this.#generation) {
      const generation = this.#generation;
      const building = this.#build(generation).finally(() => {
        if (this.#building === building) this.#building = undefined;
      });
      this.#building = building;
      this.#buildingGeneration = generation;
    }
    return this.#building.then((built) => built.bytes);
  }

  async #build(generation: number): Promise<Built> {
    const d = this.#deps;
    const database = await d.ping();
    const [health, cluster] = database.reachable
      ? await Promise.all([d.health(), d.cluster?.()])
      : [null, undefined];
    // The supervisor's state is read after the database answered, so it is the freshest part.
    const at = d.clock.monotonic();
    const now = d.clock.now();
    const r = d.view.readiness();
    const reasons = [...r.reasons, ...(database.reachable ? [] : ["database unreachable"])];
    const children = d.view.children();
    const doc = {
      node: d.view.node,
      version: d.version,
      now: new Date(now).toISOString(),
      uptimeMs: now - d.view.startedAt,
      readiness: { ready: reasons.length === 0, reasons },
      database,
      zombies: d.view.zombies(),
      rejectedInputs: rejectedTotals(children, d.httpRejected),
      health,
      ...(d.jobs ? { jobs: d.jobs() } : {}),
      ...(cluster ? { cluster } : {}),
      actors: children,
    };
    const built = { bytes: new TextEncoder().encode(JSON.stringify(doc)), at, generation };
    this.#builds++;
    if (!this.#built || this.#built.generation <= generation) this.#built = built;
    return built;
  }
}
