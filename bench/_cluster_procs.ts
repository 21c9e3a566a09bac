/**
 * The process half of the cluster benchmark (`cluster.ts`): two real supervisor processes
 * (`tests/_cluster.ts`) on one database, each with its own fake Coinbase whose prices name the
 * node that wrote a row. {@linkcode killRounds} SIGKILLs the holder and times the takeover until
 * the standby's first row is committed, then restarts the killed node as the new standby;
 * {@linkcode handoverRounds} does the same with SIGTERM (a handover) and measures the gap between
 * the two holders' rows by their `received_at`. {@linkcode finish} stops the market and counts the
 * seconds the venues sent that no node wrote, over the whole run.
 *
 * A row is durable when another session sees it: the poll that first sees the new holder's row
 * (every {@linkcode POLL_MS}) stamps the takeover with the time that poll was sent, so the commit
 * happened between the previous poll and that time.
 *
 * @module
 */
import type { Sql } from "../lib/db.ts";
import { eventually } from "../tests/_db.ts";
import {
  type ClusterNode,
  Market,
  missingSeconds,
  secondOf,
  startNode,
  writerOf,
} from "../tests/_cluster.ts";
import { readRows } from "../tests/_price_watchdog.ts";

export const FEED = "price_watchdog:btc";
/** How often the takeover is polled for. */
export const POLL_MS = 20;
/** A takeover slower than this is a failure (the standby never wrote). */
const GIVE_UP_MS = 30_000;

/** Two node slots on one database and the market that feeds them. */
export class Pair implements AsyncDisposable {
  readonly market: Market;
  /** The node holding the feed's lease, and the standby. */
  holder!: ClusterNode;
  standby!: ClusterNode;
  #live = new Set<ClusterNode>();
  #url: string;
  #sql: Sql;

  constructor(databaseUrl: string, sql: Sql) {
    this.#url = databaseUrl;
    this.#sql = sql;
    this.market = new Market(() => [...this.#live]);
  }

  /** Starts n1 (it takes the lease at once) and n2 as its warm standby. */
  async start(): Promise<void> {
    this.holder = await this.#start("n1", 1);
    await eventually(async () => (await this.#holderName()) === "n1" && await this.#wrote(1, 0), {
      timeoutMs: 60_000,
      message: "n1 never held the feed and wrote a row",
    });
    this.standby = await this.#start("n2", 2);
    await this.warm();
  }

  /** Starts node `name` again (after a kill or a stop) as the standby. */
  async restart(node: ClusterNode): Promise<void> {
    await this.drop(node);
    this.standby = await this.#start(node.name, node.index);
    await this.warm();
  }

  /** Stops tracking `node` and frees its fake (the process has exited or is killed now). */
  async drop(node: ClusterNode): Promise<void> {
    this.#live.delete(node);
    await node[Symbol.asyncDispose]();
  }

  /**
   * Waits until the standby runs the feed unleased and connected, then until the holder committed
   * a second that began after that: every second not yet committed was seen whole by the standby.
   */
  async warm(): Promise<void> {
    const n = this.standby;
    await eventually(async () => {
      const a = await n.get<{ state: string; lease: { held: boolean } | null }>(`/actors/${FEED}`);
      return a.state === "running" && a.lease?.held === false && n.fake.subscribers() === 1;
    }, { timeoutMs: 60_000, message: `${n.name} is no standby` });
    const after = secondOf(Date.now()) + 1000;
    await eventually(async () => {
      const [r] = await this.#sql<{ t: Date | null }[]>`select max("timestamp") as t
        from live_data.btc_price_log`;
      return (r?.t?.getTime() ?? 0) >= after;
    }, { timeoutMs: 30_000, message: `${this.holder.name} stopped writing` });
  }

  /** The newest row id now (rows after it were committed later). */
  async maxId(): Promise<number> {
    const [r] = await this.#sql<{ id: string }[]>`select coalesce(max(id), 0)::text as id
      from live_data.btc_price_log`;
    return Number(r!.id);
  }

  /**
   * Polls until node `index` committed a row after `sinceId`; resolves with when the lease moved
   * to `name` and when that row was first seen (monotonic ms, the sending time of the poll).
   */
  async firstRow(name: string, index: number, sinceId: number) {
    const t0 = performance.now();
    let leaseAt: number | undefined;
    for (;;) {
      const sent = performance.now();
      const [r] = await this.#sql<{ holder: string | null; wrote: boolean }[]>`select
        (select holder from system.leases where name = ${FEED}) as holder,
        exists (select 1 from live_data.btc_price_log where id > ${sinceId}
          and price >= ${index * 1000} and price < ${index * 1000 + 1000}) as wrote`;
      if (r!.holder === name) leaseAt ??= sent;
      if (r!.wrote) return { leaseAt: leaseAt ?? sent, rowAt: sent };
      if (sent - t0 > GIVE_UP_MS) {
        throw new Error(
          `${name} wrote no row ${GIVE_UP_MS} ms after the holder went (lease holder: ${
            r!.holder
          })`,
        );
      }
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
  }

  /** Swaps the roles once the standby took over. */
  swap(): void {
    [this.holder, this.standby] = [this.standby, this.holder];
  }

  async #start(name: string, index: number): Promise<ClusterNode> {
    const node = await startNode({ databaseUrl: this.#url, name, index });
    this.#live.add(node);
    await node.url;
    return node;
  }

  async #holderName(): Promise<string | null> {
    const [r] = await this.#sql<{ holder: string | null }[]>`select holder from system.leases
      where name = ${FEED}`;
    return r?.holder ?? null;
  }

  async #wrote(index: number, sinceId: number): Promise<boolean> {
    const [r] = await this.#sql<{ n: number }[]>`select count(*)::int as n
      from live_data.btc_price_log where id > ${sinceId}
        and price >= ${index * 1000} and price < ${index * 1000 + 1000}`;
    return r!.n > 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.market.stop();
    await Promise.all([...this.#live].map((n) => this.drop(n)));
  }
}

/** Takeover after SIGKILL: from the kill to the lease moving and to the first durable row. */
export interface KillRound {
  leaseMs: number;
  rowMs: number;
}

/** `n` SIGKILLs of the holder, alternating nodes; each killed node restarts as the standby. */
export async function killRounds(pair: Pair, n: number): Promise<KillRound[]> {
  const out: KillRound[] = [];
  for (let i = 0; i < n; i++) {
    const { holder, standby } = pair;
    const since = await pair.maxId();
    const k = performance.now();
    holder.kill("SIGKILL");
    const { leaseAt, rowAt } = await pair.firstRow(standby.name, standby.index, since);
    out.push({ leaseMs: leaseAt - k, rowMs: rowAt - k });
    await holder.proc.child.status;
    pair.swap();
    await pair.restart(holder);
  }
  return out;
}

/** One handover: SIGTERM until the next holder's first row, and the rows' received_at gap. */
export interface HandoverRound {
  /** SIGTERM sent until the next holder's first row was seen. */
  firstRowMs: number;
  /** received_at of the next holder's first row minus that of the last holder's last row. */
  gapMs: number;
  /** Seconds between the last holder's last row and the next holder's first, minus one. */
  skipped: number;
}

/** `n` SIGTERMs of the holder (a handover each); each stopped node restarts as the standby. */
export async function handoverRounds(pair: Pair, sql: Sql, n: number): Promise<HandoverRound[]> {
  const out: HandoverRound[] = [];
  for (let i = 0; i < n; i++) {
    const { holder, standby } = pair;
    const since = await pair.maxId();
    const k = performance.now();
    const stopped = holder.stop();
    const { rowAt } = await pair.firstRow(standby.name, standby.index, since);
    const code = await stopped;
    if (code !== 0) throw new Error(`${holder.name} exited ${code} on SIGTERM`);
    const band = (index: number) =>
      sql`price >= ${index * 1000} and price < ${index * 1000 + 1000}`;
    const [last] = await sql<{ t: Date; r: Date }[]>`select "timestamp" as t, received_at as r
      from live_data.btc_price_log where ${band(holder.index)} order by "timestamp" desc limit 1`;
    const [first] = await sql<{ t: Date; r: Date }[]>`select "timestamp" as t, received_at as r
      from live_data.btc_price_log where id > ${since} and ${band(standby.index)}
      order by "timestamp" limit 1`;
    out.push({
      firstRowMs: rowAt - k,
      gapMs: first!.r.getTime() - last!.r.getTime(),
      skipped: (first!.t.getTime() - last!.t.getTime()) / 1000 - 1,
    });
    pair.swap();
    await pair.restart(holder);
  }
  return out;
}

/** The whole run's price log: missing seconds and the normal cadence of one writer's rows. */
export interface RunTotals {
  rows: number;
  /** Seconds sent after the first row (but the last, maybe open) that no node wrote. */
  missing: number;
  /** received_at steps between consecutive seconds of the same writer. */
  cadenceMs: number[];
}

/** Stops the market, waits for the holder's last complete second, reads the log back. */
export async function finish(pair: Pair, sql: Sql): Promise<RunTotals> {
  pair.market.stop();
  const sentSeconds = [...new Set(pair.market.sent.map(secondOf))];
  const lastComplete = sentSeconds.at(-2) ?? 0;
  await eventually(async () => {
    const [r] = await sql<{ t: Date | null }[]>`select max("timestamp") as t
      from live_data.btc_price_log`;
    return (r?.t?.getTime() ?? 0) >= lastComplete;
  }, { timeoutMs: 10_000, message: "the last complete second was never written" }).catch(() => {});
  const rows = await readRows(sql);
  const seconds = rows.map((r) => r.t);
  const have = new Set(seconds);
  const lost = new Set(missingSeconds(seconds));
  for (const t of sentSeconds.slice(0, -1)) {
    if (t >= (seconds[0] ?? Infinity) && !have.has(t)) lost.add(t);
  }
  const cadenceMs: number[] = [];
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1]!;
    const b = rows[i]!;
    if (b.t - a.t === 1000 && writerOf(a.price) === writerOf(b.price)) {
      cadenceMs.push(b.receivedAt - a.receivedAt);
    }
  }
  return { rows: rows.length, missing: lost.size, cadenceMs };
}
