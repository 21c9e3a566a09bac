/**
 * The real transport under the price feed: a WebSocket behind the `Transport` seam.
 *
 * @module
 */
import type { FeedSocket, SocketHandlers } from "./feed_types.ts";

/** The real transport: a WebSocket. */
export function webSocketTransport(url: string, h: SocketHandlers): FeedSocket {
  const ws = new WebSocket(url);
  const decoder = new TextDecoder();
  ws.binaryType = "arraybuffer";
  ws.onopen = () => h.onOpen();
  ws.onmessage = (e) =>
    h.onMessage(typeof e.data === "string" ? e.data : decoder.decode(e.data as ArrayBuffer));
  ws.onerror = (e) => h.onError(e instanceof ErrorEvent ? e.message : "websocket error");
  ws.onclose = (e) => h.onClose(e.code, e.reason);
  return {
    send: (text) => ws.send(text),
    close: (code, reason) => {
      try {
        ws.close(code, reason);
      } catch { /* already closing */ }
    },
  };
}
