/**
 * Legacy 1-minute history CSVs (`{btc,eth}_historical/{sym}_1m_master_5y.csv`, columns
 * `timestamp, open, high, low, close, volume, momentum`) → `historical_data.<sym>_ohlc_1m`.
 * Timestamps (`%Y-%m-%d %H:%M:%S`) are UTC minute starts, as ccxt returned them; prices and volume
 * keep 8 decimals (numeric(20,8)); `momentum` (integer basis points, derived) is dropped. The file
 * is streamed line by line and must be in time order (the legacy writer appended).
 *
 * @module
 */
import type { Sql, TransactionSql } from "../lib/db.ts";
import { InputError } from "../lib/errors.ts";
import {
  badRow,
  decimal,
  type Part,
  type ReadContext,
  readRow,
  type Source,
  type SourceRow,
  timestamp,
} from "./_part.ts";
import { canonicalSelect, type Column, insertUnnest } from "./_sql.ts";
import { cursorValues } from "./parity.ts";
import { symbolOf } from "./price_sqlite.ts";

const COLUMNS: Column[] = ["timestamp", "open", "high", "low", "close", "volume"].map((
  name,
) => ({ name, type: name === "timestamp" ? "timestamptz" : "numeric" }));
const REQUIRED = ["timestamp", "open", "high", "low", "close", "volume"];

/** True for a legacy 1-minute history CSV path. */
export function isHistoricalCsv(path: string): boolean {
  const name = path.split("/").pop()!.toLowerCase();
  return /^(btc|eth)_1m[a-z0-9_]*\.csv$/.test(name) ||
    /(btc|eth)_historical\/[^/]+\.csv$/i.test(path);
}

async function* lines(path: string): AsyncGenerator<string> {
  using file = await Deno.open(path);
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of file.readable) {
    rest += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, i).replace(/\r$/, "");
      rest = rest.slice(i + 1);
    }
  }
  rest += decoder.decode();
  if (rest.length) yield rest.replace(/\r$/, "");
}

/** A source for one historical CSV. */
export function csvParts(path: string): Source {
  const sym = symbolOf(path);
  if (!sym) {
    throw new InputError(
      "unknown_layout",
      `Cannot import legacy file "${path}": no btc/eth in name`,
    );
  }
  const target = `historical_data.${sym}_ohlc_1m`;
  const part: Part = {
    kind: "historical_csv",
    target,
    columns: COLUMNS.map((c) => c.name),
    keyOf: (v) => [v[0] ?? ""],
    notes: ["momentum dropped (derived; recomputed from closes)"],
    async *rows(ctx: ReadContext): AsyncGenerator<SourceRow> {
      let index: number[] | undefined;
      let n = 0;
      for await (const line of lines(path)) {
        n++;
        if (line.trim() === "") continue;
        const cells = line.split(",").map((s) => s.trim());
        if (!index) {
          const head = cells.map((h) => h.toLowerCase());
          const missing = REQUIRED.filter((h) => !head.includes(h));
          if (missing.length) {
            throw badRow(path, "line 1", `header lacks ${missing.join(", ")}`, "unknown_layout");
          }
          index = REQUIRED.map((h) => head.indexOf(h));
          continue;
        }
        const idx = index;
        const ref = `line ${n} timestamp=${cells[idx[0]!] ?? ""}`;
        const row = readRow(ctx, ref, () => {
          const at = (column: string) => ({ file: path, ref, column });
          const raw = cells[idx[0]!] ?? "";
          const ts = timestamp(
            /[zZ]|[+-]\d\d:?\d\d$/.test(raw) ? raw : `${raw}Z`,
            at("timestamp"),
            {
              nowMs: ctx.nowMs,
            },
          );
          const p = { scale: 8, positive: true, maxAbs: 1e12 };
          const values = [
            ts,
            decimal(cells[idx[1]!], at("open"), p),
            decimal(cells[idx[2]!], at("high"), p),
            decimal(cells[idx[3]!], at("low"), p),
            decimal(cells[idx[4]!], at("close"), p),
            decimal(cells[idx[5]!] ?? "0", at("volume"), {
              scale: 8,
              nonNegative: true,
              maxAbs: 1e12,
            }),
          ];
          if (values.some((v) => v === null)) throw badRow(path, ref, "a value is missing");
          if (Number(values[2]) < Number(values[3])) {
            throw badRow(path, ref, "high is below low", "impossible_value");
          }
          return { ref, values };
        });
        if (row) yield row;
      }
      if (!index) throw badRow(path, "line 1", "the file is empty", "unknown_layout");
    },
    insert: (tx: TransactionSql, rows: SourceRow[]) =>
      insertUnnest(tx, target, [...COLUMNS, { name: "source", type: "text" }], rows, (r) => [
        ...r.values,
        "coinbase",
      ]),
    targetRows(sql: Sql, from: string | null) {
      const where = from === null ? sql`` : sql`where "timestamp" >= ${from}::text::timestamptz`;
      return cursorValues(
        sql`select ${canonicalSelect(sql, COLUMNS)} from ${sql(target)} ${where}
            order by "timestamp"`.cursor(5000),
      );
    },
  };
  return { path, kind: "historical_csv", parts: [part], close() {} };
}
