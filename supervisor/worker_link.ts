/**
 * The supervisor's side of one worker: create it and wire its events (every error event is
 * `preventDefault()`ed, or Deno ends the whole process), and stop it: post `stop`, wait
 * `shutdownMs` (a timer on the clock seam) for `stopped`, then `terminate()`.
 *
 * @module
 */
import type { Clock } from "../lib/clock.ts";
import type { Child } from "./_child.ts";
import type { ChildSpec } from "./child_spec.ts";
import { type WorkerFactory, workerOptions } from "./spawn.ts";

/** Where a worker's events go. */
export interface WorkerEvents {
  /** A message (parsed by the receiver). */
  message(data: unknown): void;
  /** The worker threw, or a message could not be deserialised. */
  crash(reason: string): void;
}

/** Creates `spec`'s worker with `create` and wires its events to `on`; throws what `create` throws. */
export function openWorker(
  create: WorkerFactory,
  spec: ChildSpec,
  databaseUrl: string | undefined,
  on: WorkerEvents,
): Worker {
  const worker = create(spec.module, workerOptions(spec, databaseUrl));
  worker.onmessage = (e) => on.message(e.data);
  worker.onerror = (e) => {
    e.preventDefault();
    const msg = e.message || "worker error";
    const where = e.filename ? ` (${e.filename}:${e.lineno})` : "";
    on.crash(`${msg}${where}`);
  };
  worker.onmessageerror = (e) => {
    e.preventDefault();
    on.crash("message could not be deserialised");
  };
  return worker;
}

/**
 * Posts `stop` to `w`, waits up to `c.spec.shutdownMs` for `stopped` (the receiver calls
 * `c.stopWaiter`), then terminates it. Resolves `true` when it stopped in time.
 */
export async function stopWorker(
  w: Worker,
  c: Pick<Child, "spec" | "stopWaiter">,
  reason: string,
  clock: Clock,
): Promise<boolean> {
  const graceful = await new Promise<boolean>((resolve) => {
    const cancel = clock.setTimer(() => {
      c.stopWaiter = undefined;
      resolve(false);
    }, c.spec.shutdownMs);
    c.stopWaiter = () => {
      cancel();
      c.stopWaiter = undefined;
      resolve(true);
    };
    try {
      w.postMessage({ type: "stop", reason });
    } catch {
      c.stopWaiter();
    }
  });
  w.terminate();
  return graceful;
}

/** An error as one line. */
export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
