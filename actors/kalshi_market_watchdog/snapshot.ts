/**
 * Validation of one event snapshot before anything of it is used: the event is the one asked
 * for, its `strike_date` is an instant its ticker names (the ET cross-check), every market parses
 * with its required fields, belongs to the event, has a floor strike matching its ticker, and the
 * strikes form one ladder with a constant tier (none missing, none duplicated). A snapshot that
 * fails any check is rejected whole, with a reason for the `rejected.<reason>` counter: corrupt
 * data is worse than no data. The final results of its settled markets (`results.ts`) come with
 * it; a market's refused result leaves the snapshot whole and is listed on its own.
 *
 * @module
 */
import { cleanJson } from "../../lib/bad_rows.ts";
import { EventResponse, type KalshiMarket, Market, textReason } from "../../lib/kalshi/schemas.ts";
import { compareDecimal, decimalToScaled } from "../../lib/kalshi/money.ts";
import { tickerMatchesStrikeDate } from "../../lib/kalshi/tickers.ts";
import { type MarketResult, marketResult, type ResultOutcome } from "./results.ts";

/** Why a snapshot was rejected. */
export type RejectReason =
  | "schema"
  | "event_mismatch"
  | "strike_date_mismatch"
  | "empty_event"
  | "incomplete_market"
  | "ticker_strike_mismatch"
  | "duplicate_strike"
  | "strike_gap"
  /** An identifier or code PostgreSQL could not store as sent (see `lib/kalshi/schemas.ts`). */
  | "nul_character"
  | "invalid_unicode"
  | "text_too_long";

/** A validated snapshot. */
export interface EventSnapshot {
  eventTicker: string;
  seriesTicker: string;
  title: string | null;
  subTitle: string | null;
  strikeDate: string;
  /** Markets in ascending strike order. */
  markets: KalshiMarket[];
  /** Dollars between consecutive strikes (null with a single market). */
  tier: string | null;
  raw: Record<string, unknown>;
  /** The final results of its settled markets. */
  results: MarketResult[];
  /** Settled markets whose result was refused (the snapshot itself is fine). */
  badResults: Extract<ResultOutcome, { ok: false }>[];
}

/** The outcome of {@linkcode validateSnapshot}. */
export type Validation =
  | { ok: true; snapshot: EventSnapshot }
  | { ok: false; reason: RejectReason; detail: string };

const reject = (reason: RejectReason, detail: string): Validation => ({
  ok: false,
  reason,
  detail,
});

/** Validates the body of `GET /events/{eventTicker}?with_nested_markets=true`. */
export function validateSnapshot(body: unknown, eventTicker: string): Validation {
  const parsed = EventResponse.safeParse(body);
  if (!parsed.success) {
    return reject(
      textReason(parsed.error) ?? "schema",
      parsed.error.issues[0]?.message ?? "invalid",
    );
  }
  const { event, markets: rawMarkets } = parsed.data;
  if (event.event_ticker !== eventTicker) {
    return reject("event_mismatch", `asked for ${eventTicker}, got ${event.event_ticker}`);
  }
  const strikeDate = event.strike_date;
  if (!strikeDate || !tickerMatchesStrikeDate(eventTicker, Date.parse(strikeDate))) {
    return reject("strike_date_mismatch", `${eventTicker} has strike_date ${strikeDate}`);
  }
  if (rawMarkets.length === 0) return reject("empty_event", `${eventTicker} has no markets`);

  const markets: KalshiMarket[] = [];
  const results: MarketResult[] = [];
  const badResults: EventSnapshot["badResults"] = [];
  for (const [i, raw] of rawMarkets.entries()) {
    const m = Market.safeParse(raw);
    if (!m.success) {
      const issue = m.error.issues[0];
      return reject(
        textReason(m.error) ?? "incomplete_market",
        `market #${i}: ${issue?.path.join(".") || ""} ${issue?.message ?? ""}`.trim(),
      );
    }
    if (m.data.eventTicker !== eventTicker) {
      return reject("event_mismatch", `market ${m.data.ticker} belongs to ${m.data.eventTicker}`);
    }
    if (m.data.floorStrike === null) {
      return reject("incomplete_market", `market ${m.data.ticker} has no floor_strike`);
    }
    const suffix = m.data.ticker.slice(eventTicker.length);
    if (
      !suffix.startsWith("-T") || !/^-?\d+(\.\d+)?$/.test(suffix.slice(2)) ||
      compareDecimal(suffix.slice(2), m.data.floorStrike) !== 0
    ) {
      return reject("ticker_strike_mismatch", `market ${m.data.ticker} has ${m.data.floorStrike}`);
    }
    markets.push(m.data);
    const outcome = marketResult(raw as Record<string, unknown>, m.data);
    if (outcome?.ok) results.push(outcome.result);
    else if (outcome) badResults.push(outcome);
  }

  markets.sort((a, b) => compareDecimal(a.floorStrike!, b.floorStrike!));
  let tier: bigint | null = null;
  for (let i = 1; i < markets.length; i++) {
    const step = decimalToScaled(markets[i]!.floorStrike!) -
      decimalToScaled(markets[i - 1]!.floorStrike!);
    if (step === 0n) {
      return reject("duplicate_strike", `strike ${markets[i]!.floorStrike} appears twice`);
    }
    if (tier === null) tier = step;
    else if (step !== tier) {
      return reject(
        "strike_gap",
        `strikes ${markets[i - 1]!.floorStrike} → ${markets[i]!.floorStrike} break the ladder`,
      );
    }
  }
  return {
    ok: true,
    snapshot: {
      eventTicker,
      seriesTicker: event.series_ticker,
      title: event.title ?? null,
      subTitle: event.sub_title ?? null,
      strikeDate,
      markets,
      tier: tier === null ? null : scaled6(tier),
      raw: cleanJson({ ...event, markets: undefined }),
      results,
      badResults,
    },
  };
}

function scaled6(v: bigint): string {
  const s = (v < 0n ? -v : v).toString().padStart(7, "0");
  const out = `${s.slice(0, -6)}.${s.slice(-6)}`.replace(/\.?0+$/, "");
  return v < 0n ? `-${out}` : out;
}
