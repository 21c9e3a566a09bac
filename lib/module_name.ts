/**
 * How an actor's module is shown outside the process (`/actors`, `/status`, events): relative
 * to the project (`actors/price_watchdog/worker.ts`), never as an absolute path of the machine.
 *
 * @example
 * ```ts
 * import { moduleName } from "./module_name.ts";
 * console.log(moduleName(new URL("../actors/x/worker.ts", import.meta.url).href));
 * // actors/x/worker.ts
 * ```
 *
 * @module
 */

/** The project's root folder, as a `file:` URL ending in `/`. */
const ROOT = new URL("../", import.meta.url).href;

/**
 * `url` relative to the project; a module elsewhere shows only its file name after
 * `(outside the project)/`, and a non-file URL (a `data:` or `https:` module) only its scheme.
 */
export function moduleName(url: string): string {
  if (url.startsWith(ROOT)) return decodeURIComponent(url.slice(ROOT.length));
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "(invalid module URL)";
  }
  if (parsed.protocol !== "file:") return `(${parsed.protocol.slice(0, -1)} module)`;
  const name = decodeURIComponent(parsed.pathname.slice(parsed.pathname.lastIndexOf("/") + 1));
  return `(outside the project)/${name}`;
}
