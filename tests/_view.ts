/**
 * A fixed {@linkcode SupervisorView} for tests and benchmarks of the status API and metrics: no
 * supervisor behind it, the given children (none by default), always ready.
 *
 * @module
 */
import type { ChildStatus, SupervisorView } from "../supervisor/types.ts";

/** A view over `children` that is ready and whose commands do nothing. */
export function fixedView(
  node: string,
  children: ChildStatus[] = [],
  startedAt = 0,
): SupervisorView {
  return {
    node,
    startedAt,
    children: () => children,
    child: (id) => children.find((c) => c.id === id),
    readiness: () => ({ ready: true, reasons: [] }),
    zombies: () => 0,
    restartChild: () => Promise.resolve(),
    stopChild: () => Promise.resolve(),
    startChild: () => Promise.resolve(),
  };
}

/** A running child's status as the supervisor reports it at `t0`, with `over` on top. */
export function childStatus(
  id: string,
  t0: number,
  over: Partial<ChildStatus> = {},
): ChildStatus {
  return {
    id,
    module: `file:///actors/${id}/worker.ts`,
    state: "running",
    incarnation: 1,
    restarts: 0,
    restartsInWindow: 0,
    critical: false,
    restart: "permanent",
    dependsOn: [],
    startedAt: t0 - 60_000,
    readyAt: t0 - 59_000,
    lastHeartbeatAt: t0 - 500,
    heartbeatAgeMs: 500,
    newestDataAt: t0 - 1_500,
    freshnessMs: 30_000,
    freshnessLagMs: 1_500,
    stale: false,
    handled: 42,
    heapUsed: 1_000_000,
    counters: {},
    details: {},
    reason: null,
    lastError: null,
    nextRestartAt: null,
    restartsByCause: {},
    lease: null,
    singleton: null,
    ...over,
  };
}
