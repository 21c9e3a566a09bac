/**
 * The closed-form model's volatility window of prices (`volWindowS`, 30 minutes by default), kept
 * between cycles: a cycle reads only the rows newer than the newest it holds and drops those that
 * left the window, instead of reading and parsing the whole window (1,800 rows) every time, which
 * was most of a cycle's database time. Every `fullEvery`-th read, and whenever the window's start
 * moves back (the clock was set back), it reads the whole window again, so a row written late
 * (older than one already held) counts from then on.
 *
 * @example
 * ```ts
 * import { PriceWindow } from "./price_window.ts";
 * const w = new PriceWindow(async (since) => [{ t: since, price: 100 }]);
 * console.log((await w.points(0)).length); // 1
 * ```
 *
 * @module
 */
import type { PricePoint } from "./closed_form.ts";

/** Reads the prices from `sinceMs` on, only those after `afterMs` when given, oldest first. */
export type LoadPrices = (sinceMs: number, afterMs?: number) => Promise<PricePoint[]>;

/** The window; {@linkcode PriceWindow.points} is what a cycle computes its volatility from. */
export class PriceWindow {
  #points: PricePoint[] = [];
  #since = Infinity;
  #reads = 0;
  constructor(readonly load: LoadPrices, readonly fullEvery = 60) {}

  /** The prices from `sinceMs` on, oldest first (the array is reused: do not keep it). */
  async points(sinceMs: number): Promise<readonly PricePoint[]> {
    const last = this.#points.at(-1);
    const nth = ++this.#reads % this.fullEvery === 0;
    if (last === undefined || sinceMs < this.#since || nth) {
      this.#points = await this.load(sinceMs);
    } else {
      for (const p of await this.load(sinceMs, last.t)) {
        if (p.t > this.#points.at(-1)!.t) this.#points.push(p);
      }
    }
    this.#since = sinceMs;
    let drop = 0;
    while (drop < this.#points.length && this.#points[drop]!.t < sinceMs) drop++;
    if (drop > 0) this.#points.splice(0, drop);
    return this.#points;
  }
}
