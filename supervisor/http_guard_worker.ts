/**
 * The guard's relay on a thread of its own (`http_guard.ts` starts it): the bytes of every status
 * connection are copied here, not on the supervisor's main thread, which runs the handlers and the
 * supervision. Messages: `start` (the relay's options) is answered by `listening` (the address) or
 * `error`; `counts` goes out whenever a count changes; `shutdown` is answered by `stopped`.
 *
 * @module
 */
import { type ClosedCounts, type Relay, type RelayOptions, startRelay } from "./http_relay.ts";

/** From `http_guard.ts`. */
export type GuardRequest =
  | { type: "start"; options: Omit<RelayOptions, "onChange"> }
  | { type: "shutdown" };

/** To `http_guard.ts`. */
export type GuardReport =
  | { type: "listening"; addr: Deno.NetAddr }
  | { type: "error"; name: string; message: string }
  | { type: "counts"; closed: ClosedCounts; connections: number }
  | { type: "stopped" };

const scope = self as unknown as {
  postMessage(m: GuardReport): void;
  onmessage: ((e: MessageEvent<GuardRequest>) => void) | null;
};
let relay: Relay | undefined;

scope.onmessage = async (e) => {
  const m = e.data;
  if (m.type === "start") {
    try {
      const r: Relay = startRelay({
        ...m.options,
        onChange: () =>
          scope.postMessage({
            type: "counts",
            closed: { ...r.closed },
            connections: r.connections,
          }),
      });
      relay = r;
      scope.postMessage({ type: "listening", addr: r.addr });
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      scope.postMessage({ type: "error", name: err.name, message: err.message });
    }
  } else if (m.type === "shutdown") {
    await relay?.shutdown();
    scope.postMessage({ type: "stopped" });
  }
};
