// One direction of a shaped link, as arithmetic: when each chunk handed to it leaves (the link
// serialises chunks one after another at its rate) and arrives (one-way delay later), and whether
// its queue is full. Shared by every connection of one host's relay, as a real link is. No timers
// here: the relay (lab/relay.ts) asks at a time it gives and schedules the arrivals itself.
import type { RelayShape } from './shaping';

export class LinkQueue {
  /** When the link has finished sending everything accepted so far. */
  private busyUntilMs = 0;
  /** Accepted and not yet delivered (on the wire or waiting for it). */
  private queuedBytes = 0;

  constructor(private readonly shape: RelayShape) {}

  /** Accepts a chunk at `nowMs`; returns when it arrives at the other end. */
  accept(bytes: number, nowMs: number): number {
    const startMs = Math.max(nowMs, this.busyUntilMs);
    this.busyUntilMs = startMs + (bytes * 1000) / this.shape.rateBytesPerSecond;
    this.queuedBytes += bytes;
    return this.busyUntilMs + this.shape.oneWayDelayMs;
  }

  /** The chunk's bytes have been handed to the receiver. */
  delivered(bytes: number): void {
    this.queuedBytes -= bytes;
  }

  /** Senders should stop until enough is delivered. */
  get full(): boolean {
    return this.queuedBytes >= this.shape.queueLimitBytes;
  }

  get pendingBytes(): number {
    return this.queuedBytes;
  }
}
