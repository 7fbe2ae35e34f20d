// CRIU's dump as a timeline, from stats-dump: freezing the tasks, then (while they stay frozen)
// dumping memory, writing it, and the rest of the state (files, sockets, namespaces) until they run
// again. What the Snapshot Report draws; the frozen span is the pause production saw.
import type { CriuDumpStats } from '../archive/criuStats';

export interface CriuPhase {
  name: string;
  startUs: number;
  durationUs: number;
  /** Whether the processes were frozen during this phase. */
  frozen: boolean;
}

export function criuPhases(stats: CriuDumpStats): CriuPhase[] {
  const frozenStart = stats.freezingTimeUs;
  const rest = Math.max(0, stats.frozenTimeUs - stats.memdumpTimeUs - stats.memwriteTimeUs);
  return [
    { name: 'freeze', startUs: 0, durationUs: stats.freezingTimeUs, frozen: false },
    { name: 'memory dump', startUs: frozenStart, durationUs: stats.memdumpTimeUs, frozen: true },
    { name: 'memory write', startUs: frozenStart + stats.memdumpTimeUs, durationUs: stats.memwriteTimeUs, frozen: true },
    { name: 'other state', startUs: frozenStart + stats.memdumpTimeUs + stats.memwriteTimeUs, durationUs: rest, frozen: true },
  ];
}
