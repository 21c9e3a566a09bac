/**
 * Legacy `trades.db` (`trades`, `active_trades`; active trades may also sit alone in
 * `active_trades.db`) → `user_0001.trades` and `user_0001.active_trades`, keyed by the legacy
 * `id` (kept, with the identity sequence moved past it afterwards). `date` + `time` (naive ET)
 * become `opened_at`; `closed_at` is a full ET date-time or a time of day on the trade's date.
 * Money and prices are dollars. The legacy table declared `fees`, `pnl`, `symbol_open`,
 * `symbol_close`, `momentum` and `volatility` INTEGER: where the file declares them so, the
 * report flags them as lossy (the legacy writer may have rounded cents and momentum away; what
 * the file holds is imported as is). Strikes such as `"$104,250"` become numbers; empty or
 * `N/A` numeric text becomes null.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Sql, TransactionSql } from "../lib/db.ts";
import { type Occurrence, resolveAllFolds } from "./ambiguity.ts";
import { inFallBackHour, strikeText } from "./canonical.ts";
import {
  badRow,
  checkSqliteText,
  decimal,
  padInt,
  type Part,
  type ReadContext,
  readRow,
  sortedRows,
  type SourceRow,
  text,
  timestamp,
} from "./_part.ts";
import { canonicalSelect, type Column, insertUnnest } from "./_sql.ts";
import { USER_SCHEMA } from "./_account_targets.ts";
import { cursorValues } from "./parity.ts";
import { tableColumns } from "./price_sqlite.ts";

/** Legacy tables this module reads. */
export const TRADE_TABLES = ["trades", "active_trades"] as const;

/** Legacy trade columns declared INTEGER that hold money or measures (lossy). */
export const LOSSY_CANDIDATES = [
  "fees",
  "pnl",
  "symbol_open",
  "symbol_close",
  "momentum",
  "volatility",
];

const T = (name: string, type: Column["type"]): Column => ({ name, type });
type Row = Record<string, unknown>;
type At = { file: string; ref: string };

const TRADE_COLUMNS: Column[] = [
  T("id", "bigint"),
  T("status", "text"),
  T("opened_at", "timestamptz"),
  T("symbol", "text"),
  T("market", "text"),
  T("trade_strategy", "text"),
  T("contract", "text"),
  T("strike", "numeric"),
  T("side", "text"),
  T("prob", "numeric"),
  T("diff", "numeric"),
  T("buy_price_dollars", "numeric"),
  T("position_count", "numeric"),
  T("sell_price_dollars", "numeric"),
  T("closed_at", "timestamptz"),
  T("fees_dollars", "numeric"),
  T("pnl_dollars", "numeric"),
  T("symbol_open", "numeric"),
  T("symbol_close", "numeric"),
  T("momentum", "numeric"),
  T("volatility", "numeric"),
  T("win_loss", "text"),
  T("ticker", "text"),
  T("ticket_id", "text"),
  T("market_id", "text"),
  T("momentum_delta", "numeric"),
  T("entry_method", "text"),
  T("close_method", "text"),
];

const ACTIVE_COLUMNS: Column[] = [
  T("id", "bigint"),
  T("trade_id", "bigint"),
  T("ticket_id", "text"),
  T("opened_at", "timestamptz"),
  T("strike", "numeric"),
  T("side", "text"),
  T("buy_price_dollars", "numeric"),
  T("position_count", "numeric"),
  T("contract", "text"),
  T("ticker", "text"),
  T("symbol", "text"),
  T("market", "text"),
  T("trade_strategy", "text"),
  T("symbol_open", "numeric"),
  T("momentum", "numeric"),
  T("prob", "numeric"),
  T("fees_dollars", "numeric"),
  T("diff", "numeric"),
  T("status", "text"),
  T("current_symbol_price", "numeric"),
  T("current_close_price", "numeric"),
  T("buffer_from_strike", "numeric"),
  T("time_since_entry_s", "int"),
  T("ttc_seconds", "int"),
  T("current_probability", "numeric"),
  T("current_pnl_dollars", "numeric"),
  T("last_updated", "timestamptz"),
];

/** Numeric text of the trades table: `$`, `,` and `%` are dropped; empty or N/A is null. */
function num(r: Row, column: string, at: At, opts: { strike?: boolean } = {}): string | null {
  let v = r[column];
  if (typeof v === "string") {
    const t = v.trim();
    if (t === "" || /^(n\/a|na|none|null|-)$/i.test(t)) return null;
    v = opts.strike ? t : t.replace(/[$,%\s]/g, "");
    if (opts.strike) {
      try {
        return strikeText(t);
      } catch {
        throw badRow(at.file, at.ref, `${column} "${t}" is not a number`, "non_numeric");
      }
    }
  }
  return decimal(v, { ...at, column });
}

/** Largest value of the target's integer types. */
const INT_MAX = { int: 2n ** 31n - 1n, bigint: 2n ** 63n - 1n } as const;

function int(r: Row, column: string, at: At, type: keyof typeof INT_MAX): string | null {
  const d = num(r, column, at);
  if (d !== null && !/^-?\d+$/.test(d)) {
    throw badRow(at.file, at.ref, `${column} ${d} is not a whole number`, "non_numeric");
  }
  if (d !== null && (BigInt(d) > INT_MAX[type] || BigInt(d) < -INT_MAX[type] - 1n)) {
    throw badRow(at.file, at.ref, `${column} ${d} is out of range (${type})`, "impossible_value");
  }
  return d;
}

/** `date` + `time` (naive ET) → the text to convert, or null. */
function dateTime(r: Row, at: At): string | null {
  const d = r.date;
  const t = r.time;
  if (d === null || d === undefined) return null;
  if (typeof d !== "string" || (t !== null && t !== undefined && typeof t !== "string")) {
    throw badRow(at.file, at.ref, "date/time are not text", "bad_timestamp");
  }
  return t ? `${d.trim()}T${t.trim()}` : `${d.trim()}T00:00:00`;
}

function closedText(r: Row): unknown {
  const c = r.closed_at;
  if (typeof c === "string" && /^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(c.trim())) {
    return typeof r.date === "string" ? `${r.date.trim()}T${c.trim().padStart(8, "0")}` : c;
  }
  return c === "" ? null : c;
}

function makeTrade(r: Row, at: At, ctx: ReadContext, occ: Occurrence | undefined): SourceRow {
  const id = int(r, "id", at, "bigint");
  if (id === null) throw badRow(at.file, at.ref, "id is missing");
  const status = text(r.status);
  if (!status) throw badRow(at.file, at.ref, "status is missing");
  const opened = timestamp(dateTime(r, at), { ...at, column: "date/time" }, {
    nowMs: ctx.nowMs,
    occurrence: occ,
  });
  const values = [
    id,
    status,
    opened,
    text(r.symbol),
    text(r.market),
    text(r.trade_strategy),
    text(r.contract),
    num(r, "strike", at, { strike: true }),
    text(r.side),
    num(r, "prob", at),
    num(r, "diff", at),
    num(r, "buy_price", at),
    num(r, "position", at),
    num(r, "sell_price", at),
    timestamp(closedText(r), { ...at, column: "closed_at" }, { nowMs: ctx.nowMs }),
    num(r, "fees", at),
    num(r, "pnl", at),
    num(r, "symbol_open", at),
    num(r, "symbol_close", at),
    num(r, "momentum", at),
    num(r, "volatility", at),
    text(r.win_loss),
    text(r.ticker),
    text(r.ticket_id),
    text(r.market_id),
    num(r, "momentum_delta", at),
    text(r.entry_method),
    text(r.close_method),
  ];
  for (const c of ["buy_price", "sell_price", "position"]) {
    const v = values[TRADE_COLUMNS.findIndex((x) => x.name.startsWith(c))];
    if (v && v.startsWith("-")) {
      throw badRow(at.file, at.ref, `${c} ${v} is impossible (negative)`, "impossible_value");
    }
  }
  return { ref: at.ref, values };
}

function makeActive(r: Row, at: At, ctx: ReadContext, occ: Occurrence | undefined): SourceRow {
  const id = int(r, "id", at, "bigint");
  if (id === null) throw badRow(at.file, at.ref, "id is missing");
  const last = r.last_updated === "" ? null : r.last_updated;
  return {
    ref: at.ref,
    values: [
      id,
      int(r, "trade_id", at, "bigint"),
      text(r.ticket_id),
      timestamp(dateTime(r, at), { ...at, column: "date/time" }, {
        nowMs: ctx.nowMs,
        occurrence: occ,
      }),
      num(r, "strike", at, { strike: true }),
      text(r.side),
      num(r, "buy_price", at),
      num(r, "position", at),
      text(r.contract),
      text(r.ticker),
      text(r.symbol),
      text(r.market),
      text(r.trade_strategy),
      num(r, "symbol_open", at),
      num(r, "momentum", at),
      num(r, "prob", at),
      num(r, "fees", at),
      num(r, "diff", at),
      text(r.status),
      num(r, "current_symbol_price", at),
      num(r, "current_close_price", at),
      num(r, "buffer_from_strike" in r ? "buffer_from_strike" : "buffer_from_entry", at),
      int(r, "time_since_entry", at, "int"),
      int(r, "ttc_seconds", at, "int"),
      num(r, "current_probability", at),
      num(r, "current_pnl", at),
      timestamp(last, { ...at, column: "last_updated" }, { nowMs: ctx.nowMs }),
    ],
  };
}

/** The parts of a trades file: `trades` first, so active trades find their trade. */
export function tradeParts(db: DatabaseSync, file: string, tables: readonly string[]): Part[] {
  const ordered = TRADE_TABLES.filter((t) => tables.includes(t));
  // Ids of trades rows rejected while reading: an active trade of this file pointing at one is
  // rejected too (its foreign key would otherwise fail the whole file).
  const rejected = new Set<string>();
  return ordered.map((table) => {
    const cols = tableColumns(db, table);
    const active = table === "active_trades";
    const columns = active ? ACTIVE_COLUMNS : TRADE_COLUMNS;
    const target = `${USER_SCHEMA}.${table}`;
    const lossy = active ? [] : LOSSY_CANDIDATES.filter((c) => (cols.get(c) ?? "").includes("INT"))
      .map((c) => `${c} (declared ${cols.get(c)})`);
    const notes = active && cols.has("notes") ? ["notes dropped (no target column)"] : [];
    const read = (ctx: ReadContext): SourceRow[] => {
      if (!active) rejected.clear();
      const all = db.prepare(`select rowid as _rowid, * from "${table}" order by rowid`)
        .all() as Row[];
      const check = checkSqliteText(db, table, cols.keys(), file);
      const folds = resolveAllFolds(
        all.map((r) => ({
          id: Number(r.id),
          text: typeof r.date === "string" && typeof r.time === "string"
            ? `${r.date.trim()}T${r.time.trim()}`
            : "",
        })).filter((e) => e.text !== ""),
        inFallBackHour,
      );
      const out: SourceRow[] = [];
      for (const r of all) {
        const at = { file, ref: `id=${String(r.id)}` };
        const row = readRow(ctx, at.ref, () => {
          check(r, at.ref);
          const parent = active ? text(r.trade_id) : null;
          if (parent !== null && rejected.has(parent)) {
            throw badRow(
              file,
              at.ref,
              `its trade id=${parent} was not imported`,
              "trade_not_imported",
            );
          }
          return (active ? makeActive : makeTrade)(r, at, ctx, folds.get(Number(r.id)));
        });
        if (row) out.push(row);
        else if (!active && text(r.id) !== null) rejected.add(text(r.id)!);
      }
      return out;
    };
    const part: Part = {
      kind: `trades_db:${table}`,
      target,
      columns: columns.map((c) => c.name),
      keyOf: (v) => [padInt(v[0] ?? null)],
      rows: (ctx) => sortedRows(part, read(ctx)),
      insert: (tx: TransactionSql, rows: SourceRow[]) =>
        insertUnnest(tx, target, columns, rows, (r) => r.values, { overriding: true }),
      async finish(tx: TransactionSql) {
        await tx`select setval(pg_get_serial_sequence(${target}, 'id'),
          greatest((select max(id) from ${tx(target)}), 1))`;
      },
      targetRows(sql: Sql) {
        return cursorValues(
          sql`select ${canonicalSelect(sql, columns)} from ${sql(target)} order by id`.cursor(
            2000,
          ),
        );
      },
      lossy,
      notes,
    };
    return part;
  });
}
