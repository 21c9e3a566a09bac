/**
 * Legacy JSON mirrors, recognised by file name and checked with zod against what that name
 * promises: `positions.json` `{market_positions, event_positions}`, `fills.json` `{fills}`,
 * `settlements.json` `{settlements}`, `orders.json` `{orders}` (raw Kalshi objects of the old
 * API: prices, costs and money in cents; `is_taker` true/false or 0/1), `account_balance.json`
 * `{balance}` (cents) and `<sym>_price_change*.json` `{change1h, change3h, change1d, timestamp}`
 * (percent; naive ET) → `live_data.price_change_<sym>`. Event positions have no target table and
 * are reported, not imported.
 *
 * A file is rejected as a whole only when it is not JSON or lacks its envelope (the arrays its
 * name promises); each item is then checked on its own, and a bad item is rejected and counted
 * while the others are imported.
 *
 * `account_balance.json` is dated from its content (`updated_ts`, Unix seconds, as Kalshi's
 * balance endpoint returns it, or a `timestamp` text) and then keyed by that instant and amount.
 * Without a date in its content, the file's modification time (which a copy changes) is stored as
 * its observation time but is neither its key nor compared: the amount is the key, so the same
 * balance already recorded adds nothing, however often or from wherever the file is imported.
 *
 * @module
 */
import { decodeUtf8 } from "../lib/bad_rows.ts";
import { z } from "zod";
import type { Sql, TransactionSql } from "../lib/db.ts";
import { InputError } from "../lib/errors.ts";
import {
  badRow,
  boolean,
  decimal,
  type Part,
  type ReadContext,
  readRow,
  sortedRows,
  type Source,
  type SourceRow,
  text,
  timestamp,
} from "./_part.ts";
import { canonicalSelect, type Column, insertUnnest } from "./_sql.ts";
import { accountPart, undatedBalancePart } from "./_account_targets.ts";
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
  // Checked by the shared boolean parser: true/false or 0/1, as the legacy writer left it.
  is_taker: z.unknown().optional(),
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

const BalanceSchema = z.looseObject({
  balance: num,
  // Unix seconds; the bound keeps Date in range (later dates fail as "in the future").
  updated_ts: z.number().int().nonnegative().max(1e11).nullish(),
  timestamp: str,
});
const PriceChangeSchema = z.looseObject({
  change1h: num.nullable(),
  change3h: num.nullable(),
  change1d: num.nullable(),
  timestamp: z.string(),
});

/** What a file must be to be this kind of mirror at all: its envelope, items unchecked. */
const FILES = {
  positions: z.object({
    market_positions: z.array(z.unknown()),
    event_positions: z.array(z.unknown()).optional(),
  }),
  fills: z.object({ fills: z.array(z.unknown()) }),
  settlements: z.object({ settlements: z.array(z.unknown()) }),
  orders: z.object({ orders: z.array(z.unknown()) }),
  account_balance: z.record(z.string(), z.unknown()),
  price_change: z.record(z.string(), z.unknown()),
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
    // Invalid UTF-8 becomes an unpaired surrogate, so the rows holding it are rejected, not
    // imported with U+FFFD in place of what the file held.
    data = JSON.parse(decodeUtf8(await Deno.readFile(path)));
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

/**
 * Rows of one JSON array: each item is checked with `schema` and mapped with `make`; an item
 * that fails either is rejected and counted (a RowError), the others are kept.
 */
function each<S extends z.ZodType>(
  items: readonly unknown[],
  schema: S,
  key: string,
  make: (x: z.infer<S>, at: At) => SourceRow,
  file: string,
): (ctx: ReadContext) => SourceRow[] {
  return (ctx) => {
    const out: SourceRow[] = [];
    for (const [i, item] of items.entries()) {
      const at = { file, ref: refOf(item, key, i) };
      const row = readRow(ctx, at.ref, () => {
        const parsed = schema.safeParse(item);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const where = issue?.path.join(".") || "(item)";
          throw badRow(file, at.ref, `${where}: ${issue?.message ?? "wrong shape"}`, "wrong_shape");
        }
        return make(parsed.data, at);
      });
      if (row) out.push(row);
    }
    return out;
  };
}

/** The content field an account balance file is dated by, or undefined when it has none. */
function balanceDate(data: unknown): "updated_ts" | "timestamp" | undefined {
  const o = data !== null && typeof data === "object" ? data as Record<string, unknown> : {};
  if (o.updated_ts !== null && o.updated_ts !== undefined) return "updated_ts";
  if (o.timestamp !== null && o.timestamp !== undefined) return "timestamp";
  return undefined;
}

/** How a person finds an item: its key fields (e.g. `trade_id=f-1`), else its index. */
function refOf(item: unknown, key: string, index: number): string {
  const o = item !== null && typeof item === "object" ? item as Record<string, unknown> : {};
  const parts = key.split(" ").filter((k) => typeof o[k] === "string" || typeof o[k] === "number")
    .map((k) => `${k}=${String(o[k]).slice(0, 80)}`);
  return parts.length ? parts.join(" ") : `item ${index}`;
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
        each(d.fills, FillSchema, "trade_id", (f, at) => ({
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
            boolean(f.is_taker, c(at, "is_taker"), { required: true }),
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
        each(d.market_positions, PositionSchema, "ticker", (p, at) => ({
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
        each(d.settlements, SettlementSchema, "ticker settled_time", (s, at) => ({
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
        each(d.orders, OrderSchema, "order_id", (o, at) => ({
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
      const content = [data];
      const dated = balanceDate(data);
      const rows = each(content, BalanceSchema, "balance", (b, at) => {
        const balance = decimal(b.balance, c(at, "balance"), { shift: -2, scale: 4, maxAbs: 1e14 });
        if (balance === null) throw badRow(file, at.ref, "balance is missing");
        if (!dated) return { ref: at.ref, values: [balance] };
        const observed = b.updated_ts !== null && b.updated_ts !== undefined
          ? ts(new Date(b.updated_ts * 1000).toISOString(), at, "updated_ts")
          : ts(b.timestamp, at, "timestamp");
        return { ref: at.ref, values: [observed, balance] };
      }, file);
      if (dated) {
        part = accountPart("json:account_balance", "account_balance", rows, {
          notes: [`observed_at is the file's ${dated} field`],
        });
      } else {
        part = undatedBalancePart("json:account_balance", rows, () => mtime ?? new Date(nowMs), {
          notes: [
            "no date in the file: keyed by the amount; observed_at is the file's modification " +
            "time at the first import (not compared)",
          ],
        });
      }
      break;
    }
    case "price_change": {
      const sym = symbolOf(file);
      if (!sym) throw badRow(file, "(file name)", "cannot tell the symbol");
      const target = `live_data.price_change_${sym}`;
      const pct = { scale: 6, maxAbs: 1e4 };
      const rows = each([data], PriceChangeSchema, "timestamp", (x, at) => {
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
