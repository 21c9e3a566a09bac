/**
 * One connection of the price feed (coinbase_feed.ts): its state, and what reading a frame does
 * to it (duplicate and skipped sequence numbers, the newest exchange time and the trades at it).
 *
 * @module
 */
import type { FeedFormat, FrameItem, ParsedFrame } from "./coinbase_frames.ts";
import type { DisconnectCause, FeedSocket } from "./feed_types.ts";

/** A successor's frame, waiting for the primary to close. */
export interface Queued {
  parsed: ParsedFrame;
  receivedMs: number;
  /** Sequence numbers skipped just before this frame. */
  gapBefore: number;
}

/** Why a session ended: a disconnect, a stop, or a completed handover. */
export type EndCause = DisconnectCause | "stopped" | "replaced";

/** One connection. */
export interface Session {
  role: "primary" | "successor";
  socket?: FeedSocket;
  lastSeq: number | null;
  acks: number;
  subscribed: boolean;
  hadData: boolean;
  /** Newest exchange time of its data frames, and the tick prices at exactly that time. */
  lastDataMs: number | null;
  lastTicks: string[];
  /** A successor's frames, waiting for the primary to close. */
  queue: Queued[];
  /** It delivered data after the successor subscribed: the stream was live at the handover. */
  liveAtHandover: boolean;
  /** Set once closing was asked for (or the socket closed). */
  ending: { cause: EndCause; detail: string } | null;
  /** The close event came (not the close wait). */
  closedCleanly: boolean;
  done: boolean;
  silence?: ReturnType<typeof setTimeout>;
  closeWait?: ReturnType<typeof setTimeout>;
}

/** A new session of `role`, not yet connected. */
export function newSession(role: Session["role"]): Session {
  return {
    role,
    lastSeq: null,
    acks: 0,
    subscribed: false,
    hadData: false,
    lastDataMs: null,
    lastTicks: [],
    queue: [],
    liveAtHandover: false,
    ending: null,
    closedCleanly: false,
    done: false,
  };
}

/** Exchange time of the first data item (trade or exchange clock) of a frame, or null. */
export function dataTime(items: readonly FrameItem[]): number | null {
  for (const it of items) if (it.kind === "tick" || it.kind === "clock") return it.timeMs;
  return null;
}

/** A frame as a session read it. */
export interface SessionFrame {
  /** The frame, or a duplicate marker when its sequence number was already seen. */
  parsed: ParsedFrame;
  /** Sequence numbers skipped just before it. */
  gap: number;
  /** Exchange time of its first data item, or null. */
  t: number | null;
}

/** Reads a frame on `s`: checks its sequence number (Advanced Trade) and notes its data. */
export function readFrame(s: Session, format: FeedFormat, frame: ParsedFrame): SessionFrame {
  let parsed = frame;
  let gap = 0;
  if (format === "advanced" && parsed.sequence !== null) {
    if (s.lastSeq !== null && parsed.sequence <= s.lastSeq) {
      parsed = {
        sequence: parsed.sequence,
        items: [{ kind: "duplicate", what: "sequence" }],
      };
    } else {
      if (s.lastSeq !== null && parsed.sequence > s.lastSeq + 1) {
        gap = parsed.sequence - s.lastSeq - 1;
      }
      s.lastSeq = parsed.sequence;
    }
  }
  const t = dataTime(parsed.items);
  if (t !== null) {
    s.hadData = true;
    for (const it of parsed.items) {
      if (it.kind !== "tick" && it.kind !== "clock") continue;
      if (s.lastDataMs === null || it.timeMs > s.lastDataMs) {
        s.lastDataMs = it.timeMs;
        s.lastTicks.length = 0;
      }
      if (it.kind === "tick" && it.timeMs === s.lastDataMs) s.lastTicks.push(it.price);
    }
  }
  return { parsed, gap, t };
}
