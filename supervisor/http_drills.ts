/**
 * Demo mode's fault drills as the status API serves them: `POST /drills/:name` (token-guarded by
 * `http.ts`) is forwarded, with the caller's `Authorization` header, to the demo's drill server
 * (`RECIO_DEMO_CONTROL_URL`; `deno task demo` runs it next to the heart that owns the embedded
 * database, see `demo/drills.ts`), and its answer is relayed: 202 with the drill, or its problem
 * (400 bad parameter, 404 unknown drill, 409 a drill already running). The supervisor knows no
 * drill by name.
 *
 * @example
 * ```ts ignore
 * const app = createStatusApp({ view, sql, token, drills: forwardDrills(controlUrl) });
 * ```
 *
 * @module
 */
import type { ProblemStatus } from "./http_problem.ts";

/** A drill's answer: 202 and its body, or a problem status and its detail. */
export type DrillAnswer = { status: 202; body: unknown } | {
  status: ProblemStatus;
  detail: string;
};

/** Runs one drill: `name` from the path, the query string's parameters, the caller's header. */
export type DrillRunner = (
  name: string,
  params: Record<string, string>,
  authorization: string | undefined,
) => Promise<DrillAnswer>;

const RELAYED: ReadonlySet<number> = new Set([400, 401, 403, 404, 409]);

/** A {@linkcode DrillRunner} that forwards to the drill server at `controlUrl`. */
export function forwardDrills(controlUrl: string, fetchFn: typeof fetch = fetch): DrillRunner {
  return async (name, params, authorization) => {
    const url = new URL(`drills/${encodeURIComponent(name)}`, controlUrl.replace(/\/?$/, "/"));
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    let r: Response;
    try {
      r = await fetchFn(url, {
        method: "POST",
        headers: authorization ? { authorization } : {},
        signal: AbortSignal.timeout(30_000),
      });
    } catch {
      return { status: 503, detail: "the demo's drill server does not answer" };
    }
    const body = await r.json().catch(() => undefined) as { detail?: unknown } | undefined;
    if (r.ok) return { status: 202, body };
    const detail = typeof body?.detail === "string"
      ? body.detail.slice(0, 500)
      : `the drill server answered ${r.status}`;
    return { status: RELAYED.has(r.status) ? r.status as ProblemStatus : 503, detail };
  };
}
