/**
 * The heart's configuration, validated in a short-lived process of its own. `lib/config.ts` is one
 * zod schema that also imports postgres.js (through `lib/db.ts`) and croner; a module once loaded
 * stays in a Deno process until it ends, and those packages cost the heart about 20 MiB RSS for
 * its whole life (more than its 50 MiB budget allows beside Deno's own ~35 MiB). So `main.ts`
 * runs `heart_config_check.ts` as a child (about 0.1 s, once per start, before anything else): it
 * validates the same environment and config file the supervisor will read, prints the
 * {@linkcode Config} as one JSON line, or prints the error naming the variable on stderr and exits
 * 2. The child is named by URL, not imported: Deno prepares even a dynamic `import()` of a literal
 * specifier when the module loads (measured: 3.5 MiB for `lib/config.ts`'s graph).
 *
 * @example
 * ```ts ignore
 * const checked = await checkConfig();
 * if ("code" in checked) Deno.exit(checked.code);
 * ```
 *
 * @module
 */
import type { Config } from "../lib/config.ts";

/** The exit code of an invalid configuration (as `main.ts` and the supervisor use). */
export const CONFIG_INVALID_EXIT = 2;

const CHECK = new URL("./heart_config_check.ts", import.meta.url).href;

/**
 * Validates the configuration in a child process with this process's environment and working
 * directory. Resolves the configuration, or the child's exit code when it refused it (it printed
 * why on stderr, which is this process's). Throws when the child could not report at all.
 */
export async function checkConfig(): Promise<{ config: Config } | { code: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHECK],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (out.code === CONFIG_INVALID_EXIT) return { code: CONFIG_INVALID_EXIT };
  if (!out.success) throw new Error(`The configuration check failed (exit ${out.code})`);
  return { config: JSON.parse(new TextDecoder().decode(out.stdout)) as Config };
}
