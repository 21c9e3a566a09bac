/**
 * The types of the trade builder (`build.ts`): its input (stored fills and settlements, the
 * fields of `KalshiFill` and `KalshiSettlement` it reads), the trades it builds and the inputs it
 * refuses. Apart so that the builder's module holds only its logic.
 *
 * @module
 */

/** A stored fill (the fields of `KalshiFill` the builder reads). */
export interface FillInput {
  tradeId: string;
  orderId: string | null;
  ticker: string;
  side: string | null;
  action: string | null;
  countFp: string | null;
  yesPriceDollars: string | null;
  noPriceDollars: string | null;
  feeCostDollars: string | null;
  /** ISO 8601. */
  createdTime: string;
}

/** A stored settlement (the fields of `KalshiSettlement` the builder reads). */
export interface SettlementInput {
  ticker: string;
  settledTime: string;
  marketResult: string | null;
  yesCountFp: string | null;
  noCountFp: string | null;
  revenueDollars: string | null;
  feeCostDollars: string | null;
}

export type Side = "yes" | "no";

/** One trade; amounts are dollars and counts contracts, as decimal strings. */
export interface Trade {
  /** `<ticker>:<side>:<first fill id>`: the natural key. */
  key: string;
  ticker: string;
  eventTicker: string;
  symbol: string;
  strike: string;
  side: Side;
  status: "open" | "closed" | "settled";
  openedAt: string;
  closedAt: string | null;
  /** Contracts bought. */
  contracts: string;
  /** Contracts sold or settled. */
  contractsClosed: string;
  contractsOpen: string;
  costDollars: string;
  proceedsDollars: string;
  /** First-in-first-out cost of the contracts still held. */
  openCostDollars: string;
  buyPriceDollars: string;
  sellPriceDollars: string | null;
  feesDollars: string;
  pnlDollars: string;
  /** `W`, `L`, `E` (even) once closed; null while open. */
  winLoss: "W" | "L" | "E" | null;
  marketResult: string | null;
  orderIds: string[];
  fillIds: string[];
}

export type RejectReason =
  | "unknown_market"
  | "bad_count"
  | "bad_price"
  | "bad_side"
  | "bad_action"
  | "bad_time"
  | "oversell"
  | "fill_after_settlement"
  | "settlement_without_position"
  | "settlement_count_mismatch"
  | "unknown_result";

/** An input left out, and why. */
export interface Rejection {
  kind: "fill" | "settlement";
  /** The fill id, or `<ticker> at <time>`. */
  ref: string;
  ticker: string;
  reason: RejectReason;
}

/** What {@linkcode buildTrades} returns. */
export interface BuildResult {
  trades: Trade[];
  rejected: Rejection[];
  duplicates: number;
}
