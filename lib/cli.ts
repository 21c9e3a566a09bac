/**
 * Command-line helpers for the tasks.
 *
 * @module
 */

/**
 * The task's own arguments: `deno task x -- --days 3` passes the `--` on to the script (Deno
 * 2.9.6), after any arguments the task itself spells out, so the first `--` is dropped;
 * `deno task x --days 3` works the same.
 */
export function taskArgs(args: readonly string[] = Deno.args): string[] {
  const i = args.indexOf("--");
  return i === -1 ? [...args] : [...args.slice(0, i), ...args.slice(i + 1)];
}
