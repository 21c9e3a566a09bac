/**
 * Commands to a child's worker, matched to their answers by a command id carried in both the
 * `command` and its `command_result` (`schema/messages.ts`), so two concurrent commands of one name
 * never resolve each other's promises. The wait is a timer on the clock seam.
 *
 * @module
 */
import type { Clock } from "../lib/clock.ts";
import { SupervisorError } from "../lib/errors.ts";
import { ActorMessage, type SupervisorMessage } from "../schema/messages.ts";

/** Sends commands to workers: one id sequence per supervisor. */
export class CommandSender {
  #clock: Clock;
  #nextId = 1;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Posts command `name` to child `childId`'s worker `w` and resolves with its result, rejects
   * with its error, or rejects after `timeoutMs` without an answer.
   */
  send(
    w: Worker,
    childId: string,
    command: { name: string; payload?: unknown; timeoutMs: number },
  ): Promise<unknown> {
    const { name, payload, timeoutMs } = command;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const cancel = this.#clock.setTimer(() => {
        w.removeEventListener("message", onMessage);
        reject(
          new SupervisorError(
            `Cannot send "${name}" to "${childId}": no answer in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const onMessage = (e: MessageEvent) => {
        const m = ActorMessage.safeParse(e.data);
        if (!m.success || m.data.type !== "command_result" || m.data.id !== id) return;
        cancel();
        w.removeEventListener("message", onMessage);
        if (m.data.ok) resolve(m.data.result);
        else {
          reject(
            new SupervisorError(`Command "${name}" failed in "${childId}": ${m.data.error}`),
          );
        }
      };
      w.addEventListener("message", onMessage);
      const message: SupervisorMessage = { type: "command", id, name, payload };
      w.postMessage(message);
    });
  }
}
