// Progress events as one line for people: "Receiving checkpoint of demo-api: 120.0 MiB of
// 512.0 MiB (23%), 310.2 MiB/s". Keeps the rate of the current phase between calls, so the
// terminal bar and the VS Code notification say the same thing.
import { systemClock, type Clock } from './clock';
import { formatBytes } from './format';
import type { ProgressEvent } from './progress';

const rateWindowMs = 500;

export class ProgressText {
  private phase = '';
  private window = { at: 0, bytes: 0 };
  private perSecond = 0;

  constructor(private readonly clock: Pick<Clock, 'now'> = systemClock) {}

  line(event: ProgressEvent, now = this.clock.now()): string {
    if (event.bytes === undefined) return event.message;
    if (event.phase !== this.phase || event.bytes < this.window.bytes) {
      this.phase = event.phase;
      this.window = { at: now, bytes: event.bytes };
      this.perSecond = 0;
    } else if (now - this.window.at >= rateWindowMs) {
      this.perSecond = ((event.bytes - this.window.bytes) * 1000) / (now - this.window.at);
      this.window = { at: now, bytes: event.bytes };
    }
    const done = event.total
      ? `${formatBytes(event.bytes)} of ${formatBytes(event.total)} (${Math.min(100, Math.floor((event.bytes / event.total) * 100))}%)`
      : formatBytes(event.bytes);
    return `${event.message}: ${done}${this.perSecond > 0 ? `, ${formatBytes(this.perSecond)}/s` : ''}`;
  }

  /** Percent done of the current phase, when it has a total. */
  static percent(event: ProgressEvent): number | undefined {
    return event.total && event.bytes !== undefined ? Math.min(100, (event.bytes / event.total) * 100) : undefined;
  }
}
