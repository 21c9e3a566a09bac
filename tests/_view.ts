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
