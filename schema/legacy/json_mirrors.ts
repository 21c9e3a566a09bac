/**
 * Legacy JSON mirrors, recognised by file name and checked with zod against what that name
 * promises: `positions.json` `{market_positions, event_positions}`, `fills.json` `{fills}`,
 * `settlements.json` `{settlements}`, `orders.json` `{orders}` (raw Kalshi objects of the old
 * API: prices, costs and money in cents), `account_balance.json` `{balance}` (cents; the file's
 * modification time is its observation time) and `<sym>_price_change*.json`
 * `{change1h, change3h, change1d, timestamp}` (percent; naive ET) → `live_data.price_change_<sym>`.
 * Event positions have no target table and are reported, not imported.
 *
 * @module
 */
import { z } from "zod";
import type { Sql, TransactionSql } from "../../lib/db.ts";
import { InputError } from "../../lib/errors.ts";
import {
  badRow,
  decimal,
  ExcludeRow,
  type Part,
  type ReadContext,
  sortedRows,
  type Source,
  type SourceRow,
  text,
  timestamp,
} from "./_part.ts";
import { canonicalSelect, type Column, insertUnnest } from "./_sql.ts";
import { accountPart } from "./_account_targets.ts";
import { cursorValues } from "./parity.ts";
import { symbolOf } from "./price_sqlite.ts";

/** JSON mirror kinds, by file name. */
export type JsonKind =
  | "positions"
  | "fills"
  | "settlements"
  | "orders"
  | "account_balance"
  | "price_change";

/** The kind a JSON file's name promises, or undefined for files that are not legacy stores. */
export function jsonMirrorKind(name: string): JsonKind | undefined {
  const n = name.toLowerCase();
  if (["positions.json", "fills.json", "settlements.json", "orders.json"].includes(n)) {
    return n.slice(0, -5) as JsonKind;
  }
  if (n === "account_balance.json") return "account_balance";
  if (/^(btc|eth)_price_change[a-z_]*\.json$/.test(n)) return "price_change";
  return undefined;
}

const num = z.union([z.number(), z.string()]);
const opt = num.nullish();
const str = z.string().nullish();

const FillSchema = z.looseObject({
  trade_id: z.string().min(1),
  order_id: str,
  ticker: z.string().min(1),
  side: str,
  action: str,
  count: opt,
  yes_price: opt,
  no_price: opt,
  is_taker: z.boolean().nullish(),
  created_time: str,
});
const PositionSchema = z.looseObject({
  ticker: z.string().min(1),
  position: opt,
  total_traded: opt,
  market_exposure: opt,
  realized_pnl: opt,
  fees_paid: opt,
  last_updated_ts: str,
});
const SettlementSchema = z.looseObject({
  ticker: z.string().min(1),
  market_result: str,
  yes_count: opt,
  yes_total_cost: opt,
  no_count: opt,
  no_total_cost: opt,
  revenue: opt,
  settled_time: z.string().min(1),
});
const OrderSchema = z.looseObject({
  order_id: z.string().min(1),
  client_order_id: str,
  ticker: str,
  status: str,
  action: str,
  side: str,
  type: str,
  yes_price: opt,
  no_price: opt,
  initial_count: opt,
  remaining_count: opt,
  fill_count: opt,
  created_time: str,
  expiration_time: str,
  last_update_time: str,
});

const FILES = {
  positions: z.object({
    market_positions: z.array(PositionSchema),
    event_positions: z.array(z.unknown()).optional(),
  }),
  fills: z.object({ fills: z.array(FillSchema) }),
  settlements: z.object({ settlements: z.array(SettlementSchema) }),
  orders: z.object({ orders: z.array(OrderSchema) }),
  account_balance: z.object({ balance: num }),
  price_change: z.object({
    change1h: num.nullable(),
    change3h: num.nullable(),
    change1d: num.nullable(),
    timestamp: z.string(),
  }),
} as const;

type At = { file: string; ref: string };
const c = (at: At, column: string) => ({ ...at, column });
const cents = { shift: -2, nonNegative: true };
const price = { shift: -2, nonNegative: true, maxAbs: 1.001 };

const PRICE_CHANGE_COLUMNS: Column[] = [
  { name: "timestamp", type: "timestamptz" },
  { name: "change1h", type: "numeric" },
  { name: "change3h", type: "numeric" },
  { name: "change1d", type: "numeric" },
];

/** Reads, validates and maps one JSON mirror into a source with one part. */
export async function jsonParts(path: string, kind: JsonKind): Promise<Source> {
  let data: unknown;
  try {
    data = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new InputError(
      "bad_json",
      `Cannot import legacy file "${path}": not valid JSON (${(e as Error).message})`,
    );
  }
  const parsed = FILES[kind].safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      "wrong_shape",
      `Cannot import legacy file "${path}": it is not a ${kind} mirror (${
        issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "wrong shape"
      })`,
    );
  }
  const mtime = (await Deno.stat(path)).mtime;
  const part = partOf(path, kind, parsed.data, mtime);
  return { path, kind: `json:${kind}`, parts: [part], close() {} };
}

function each<T>(
  items: readonly T[],
  ref: (x: T) => string,
  make: (x: T, at: At) => SourceRow,
  file: string,
): (ctx: ReadContext) => SourceRow[] {
  return (ctx) => {
    const out: SourceRow[] = [];
    for (const x of items) {
      const at = { file, ref: ref(x) };
      try {
        out.push(make(x, at));
      } catch (e) {
        if (!(e instanceof ExcludeRow)) throw e;
        ctx.exclude({ ref: at.ref, reason: e.message });
      }
    }
    return out;
  };
}

function partOf(file: string, kind: JsonKind, data: unknown, mtime: Date | null): Part {
  let nowMs = 0; // set from the clock when rows are read
  const ts = (v: unknown, at: At, column: string) => timestamp(v, c(at, column), { nowMs });
  let part: Part;
  switch (kind) {
    case "fills": {
      const d = data as z.infer<typeof FILES.fills>;
      part = accountPart(
        "json:fills",
        "fills",
        each(d.fills, (f) => `trade_id=${f.trade_id}`, (f, at) => ({
          ref: at.ref,
          raw: f,
          values: [
            f.trade_id,
            text(f.order_id),
            f.ticker,
            text(f.side),
            text(f.action),
            decimal(f.count, c(at, "count"), { nonNegative: true }),
            decimal(f.yes_price, c(at, "yes_price"), price),
            decimal(f.no_price, c(at, "no_price"), price),
            f.is_taker === null || f.is_taker === undefined ? null : String(f.is_taker),
            ts(f.created_time, at, "created_time"),
          ],
        }), file),
      );
      break;
    }
    case "positions": {
      const d = data as z.infer<typeof FILES.positions>;
      part = accountPart(
        "json:positions",
        "positions",
        each(d.market_positions, (p) => `ticker=${p.ticker}`, (p, at) => ({
          ref: at.ref,
          raw: p,
          values: [
            p.ticker,
            decimal(p.position, c(at, "position")),
            decimal(p.total_traded, c(at, "total_traded"), cents),
            decimal(p.market_exposure, c(at, "market_exposure"), { shift: -2 }),
            decimal(p.realized_pnl, c(at, "realized_pnl"), { shift: -2 }),
            decimal(p.fees_paid, c(at, "fees_paid"), cents),
            ts(p.last_updated_ts, at, "last_updated_ts"),
          ],
        }), file),
        {
          notes: d.event_positions?.length
            ? [`${d.event_positions.length} event_positions not imported (no target table)`]
            : [],
        },
      );
      break;
    }
    case "settlements": {
      const d = data as z.infer<typeof FILES.settlements>;
      part = accountPart(
        "json:settlements",
        "settlements",
        each(d.settlements, (s) => `ticker=${s.ticker} settled_time=${s.settled_time}`, (
          s,
          at,
        ) => ({
          ref: at.ref,
          raw: s,
          values: [
            s.ticker,
            ts(s.settled_time, at, "settled_time"),
            text(s.market_result),
            decimal(s.yes_count, c(at, "yes_count"), { nonNegative: true }),
            decimal(s.yes_total_cost, c(at, "yes_total_cost"), cents),
            decimal(s.no_count, c(at, "no_count"), { nonNegative: true }),
            decimal(s.no_total_cost, c(at, "no_total_cost"), cents),
            decimal(s.revenue, c(at, "revenue"), cents),
          ],
        }), file),
      );
      break;
    }
    case "orders": {
      const d = data as z.infer<typeof FILES.orders>;
      part = accountPart(
        "json:orders",
        "orders",
        each(d.orders, (o) => `order_id=${o.order_id}`, (o, at) => ({
          ref: at.ref,
          raw: o,
          values: [
            o.order_id,
            text(o.client_order_id),
            text(o.ticker),
            text(o.status),
            text(o.action),
            text(o.side),
            text(o.type),
            decimal(o.yes_price, c(at, "yes_price"), price),
            decimal(o.no_price, c(at, "no_price"), price),
            decimal(o.initial_count, c(at, "initial_count"), { nonNegative: true }),
            decimal(o.remaining_count, c(at, "remaining_count"), { nonNegative: true }),
            decimal(o.fill_count, c(at, "fill_count"), { nonNegative: true }),
            ts(o.created_time, at, "created_time"),
            ts(o.expiration_time, at, "expiration_time"),
            ts(o.last_update_time, at, "last_update_time"),
          ],
        }), file),
        { notes: ["fee, cost, queue and group fields kept in raw only"] },
      );
      break;
    }
    case "account_balance": {
      const d = data as z.infer<typeof FILES.account_balance>;
      if (!mtime) throw badRow(file, "(file)", "has no modification time to date the balance");
      const observed = `${mtime.toISOString().slice(0, 23)}000Z`;
      part = accountPart(
        "json:account_balance",
        "account_balance",
        each([d], () => `balance=${String(d.balance)}`, (b, at) => ({
          ref: at.ref,
          values: [
            observed,
            decimal(b.balance, c(at, "balance"), { shift: -2, scale: 4, maxAbs: 1e14 }),
          ],
        }), file),
        { notes: ["observed_at is the file's modification time"] },
      );
      break;
    }
    case "price_change": {
      const d = data as z.infer<typeof FILES.price_change>;
      const sym = symbolOf(file);
      if (!sym) throw badRow(file, "(file name)", "cannot tell the symbol");
      const target = `live_data.price_change_${sym}`;
      const pct = { scale: 6, maxAbs: 1e4 };
      const rows = each([d], (x) => `timestamp=${x.timestamp}`, (x, at) => {
        const t = ts(x.timestamp, at, "timestamp");
        if (t === null) throw badRow(file, at.ref, "timestamp is missing");
        return {
          ref: at.ref,
          values: [
            t,
            decimal(x.change1h, c(at, "change1h"), pct),
            decimal(x.change3h, c(at, "change3h"), pct),
            decimal(x.change1d, c(at, "change1d"), pct),
          ],
        };
      }, file);
      part = {
        kind: "json:price_change",
        target,
        columns: PRICE_CHANGE_COLUMNS.map((x) => x.name),
        keyOf: (v) => [v[0] ?? ""],
        rows: (ctx) => rows(ctx),
        insert: (tx: TransactionSql, batch: SourceRow[]) =>
          insertUnnest(tx, target, PRICE_CHANGE_COLUMNS, batch, (r) => r.values),
        targetRows: (sql: Sql) =>
          cursorValues(
            sql`select ${canonicalSelect(sql, PRICE_CHANGE_COLUMNS)} from ${sql(target)}
                order by "timestamp"`.cursor(1000),
          ),
      };
      break;
    }
  }
  const inner = part.rows.bind(part);
  part.rows = (ctx) => {
    nowMs = ctx.nowMs;
    return sortedRows(part, [...(inner(ctx) as Iterable<SourceRow>)]);
  };
  return part;
}
