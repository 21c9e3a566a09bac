/**
 * Zod schemas of Kalshi responses (exchange-protocols.md §B3-B4). Each accepts the current
 * fixed-point fields (`*_dollars` strings, `*_fp` counts) and the legacy ones (integer cents,
 * integer counts), and normalises to dollars and counts as decimal strings, never through float
 * rounding. A required value missing in both forms fails the parse.
 *
 * Text is judged here, at the edge, because PostgreSQL refuses a NUL or broken UTF-16 (the
 * client marks invalid UTF-8 bytes as such, `decodeUtf8`): identifiers and codes (tickers, ids,
 * statuses, sides) that are not storable as sent, or longer than {@linkcode KEY_CHARS}, fail the
 * parse with the reason (`nul_character`, `invalid_unicode`, `text_too_long`) in the issue's
 * `params.reason`; free text (titles) is cleaned and bounded; the `raw` payload kept with a row
 * is cleaned (`cleanJson`). A decimal string longer than {@linkcode DECIMAL_CHARS} fails too.
 *
 * @module
 */
import { z } from "zod";
import { opt, storableText } from "./_schema_fields.ts";

export { Decimal, DECIMAL_CHARS, KEY_CHARS, textReason, TITLE_CHARS } from "./_schema_fields.ts";
export * from "./market_schemas.ts";
export * from "./portfolio_schemas.ts";

/** One page of a cursor-paginated list: the items stay unparsed, judged one by one. */
export function pageSchema(listKey: string) {
  return z.looseObject({
    [listKey]: z.array(z.unknown()).nullish(),
    // Stored as a sync cursor: refused like an identifier (but longer).
    cursor: storableText(4_000).nullish(),
  }).transform((v) => ({
    items: (v[listKey] as unknown[] | null | undefined) ?? [],
    cursor: (v.cursor as string | null | undefined) ?? "",
  }));
}

/** A WebSocket message envelope (exchange-protocols.md §B7). */
export const WsEnvelope = z.looseObject({
  type: z.string(),
  id: opt(z.number()),
  sid: opt(z.number()),
  seq: opt(z.number()),
  msg: z.unknown().optional(),
});
export type WsEnvelope = z.output<typeof WsEnvelope>;
