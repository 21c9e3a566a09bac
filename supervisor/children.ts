/**
 * The child list: actors named by module URL, never imported, so an actor can be added or
 * changed without touching the supervisor. `RECIO_CHILDREN_FILE` (a JSON array of child specs)
 * replaces the list, for custom deployments and tests.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import { ConfigError, SupervisorError } from "../lib/errors.ts";
import type { ChildSpec, ChildSpecInput } from "./child_spec.ts";

const actor = (name: string) => new URL(`../actors/${name}/worker.ts`, import.meta.url).href;

/** The default supervision tree for `config`. */
export function defaultChildren(config: Config): ChildSpecInput[] {
  // Database access (net to its host, the PG* env) is added by the supervisor for every child
  // with `database: true`.
  return [
    {
      id: "system_monitor",
      module: actor("system_monitor"),
      args: { intervalMs: config.monitorIntervalMs, dataDir: config.dataDir },
      heartbeatMs: 1_000,
      hangAfterMs: 15_000,
      // A check run every intervalMs is the monitor's data.
      freshness: config.monitorIntervalMs * 3 + 10_000,
      freshnessGraceMs: config.monitorIntervalMs + 10_000,
      permissions: { read: ["/proc/self/status", config.dataDir], sys: ["statfs"] },
    },
  ];
}

/** Reads a JSON child list (relative `module` paths resolve against the file). */
export function readChildrenFile(path: string): ChildSpecInput[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Deno.readTextFileSync(path));
  } catch (cause) {
    throw new ConfigError(`Cannot read RECIO_CHILDREN_FILE "${path}": not a readable JSON file`, {
      cause,
    });
  }
  if (!Array.isArray(parsed)) {
    throw new ConfigError(`Cannot read RECIO_CHILDREN_FILE "${path}": expected a JSON array`);
  }
  const base = new URL(`file://${path.startsWith("/") ? path : `${Deno.cwd()}/${path}`}`);
  return parsed.map((s) =>
    s && typeof s === "object" && typeof (s as { module?: unknown }).module === "string"
      ? { ...s, module: new URL((s as { module: string }).module, base).href }
      : s
  );
}

/** Refuses to start when a child's module file does not exist (a clear error beats a crash loop). */
export function assertModulesExist(specs: readonly ChildSpec[]): void {
  for (const s of specs) {
    if (!s.module.startsWith("file:")) continue;
    try {
      Deno.statSync(new URL(s.module));
    } catch {
      throw new SupervisorError(`Cannot start child "${s.id}": module not found (${s.module})`);
    }
  }
}
