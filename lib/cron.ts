/**
 * Cron expressions as `Deno.cron` takes them: five fields (minute, hour, day of month, month,
 * day of week), evaluated in UTC. Parsing and next-run computation come from `npm:croner`; this
 * module only narrows it to the five-field form `Deno.cron` accepts.
 *
 * @example
 * ```ts
 * import { nextCronRun } from "./cron.ts";
 * const next = nextCronRun("0 3 * * *", Date.UTC(2026, 0, 1, 2, 59));
 * console.log(new Date(next).toISOString()); // 2026-01-01T03:00:00.000Z
 * ```
 *
 * @module
 */
import { Cron } from "croner";

/** Why `expr` is not a five-field cron expression, or `undefined` when it is one. */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `expected five fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  }
  try {
    new Cron(expr, { timezone: "UTC", paused: true });
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message.replace(/^CronPattern: /, "") : String(e);
  }
}

/**
 * The first time (epoch ms, UTC) strictly after `afterMs` at which `expr` fires. Throws a
 * `TypeError` for an invalid expression.
 */
export function nextCronRun(expr: string, afterMs: number): number {
  const problem = cronProblem(expr);
  if (problem) throw new TypeError(`Cannot parse cron expression "${expr}": ${problem}`);
  const next = new Cron(expr, { timezone: "UTC", paused: true }).nextRun(new Date(afterMs));
  if (!next) throw new TypeError(`Cannot compute the next run of "${expr}": it never fires`);
  return next.getTime();
}

/**
 * The occurrence a cron handler firing at `atMs` belongs to: the latest time (epoch ms, UTC) at
 * or before `atMs` at which `expr` fires, to the second. The same on every node whose clock is
 * within one period of the others, so it keys an occurrence cluster-wide. Throws a `TypeError`
 * for an invalid expression or one that never fired.
 */
export function lastCronRun(expr: string, atMs: number): number {
  const problem = cronProblem(expr);
  if (problem) throw new TypeError(`Cannot parse cron expression "${expr}": ${problem}`);
  // previousRuns() is strictly before its reference and drops milliseconds: the next second.
  const reference = new Date(Math.floor(atMs / 1_000) * 1_000 + 1_000);
  const [last] = new Cron(expr, { timezone: "UTC", paused: true }).previousRuns(1, reference);
  if (!last) throw new TypeError(`Cannot compute the last run of "${expr}": it never fired`);
  return last.getTime();
}
