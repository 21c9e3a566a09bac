/**
 * The configuration check `supervisor/heart_config.ts` runs as a child of the heart: prints the
 * validated configuration (`lib/config.ts`) as one JSON line on stdout, or the error naming the
 * variable on stderr and exits 2. Run by itself it does the same.
 *
 * @module
 */
import { loadConfig } from "../lib/config.ts";
import { ConfigError } from "../lib/errors.ts";

/** The exit code of an invalid configuration (`heart_config.ts`'s `CONFIG_INVALID_EXIT`). */
const CONFIG_INVALID_EXIT = 2;

if (import.meta.main) {
  try {
    console.log(JSON.stringify(loadConfig()));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    Deno.exit(CONFIG_INVALID_EXIT);
  }
}
