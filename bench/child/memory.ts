// Peak resident memory of this process during a piece of work: the baseline is taken just before
// it starts; the peak is the larger of frequent samples and the kernel's own high-water mark
// (VmHWM, which never misses a peak; it may hold a start-up peak too, so growth is never understated).
import { readdirSync, readFileSync } from 'node:fs';

export interface RssReport {
  baselineBytes: number;
  peakBytes: number;
  growthBytes: number;
  /** The largest sum, over the samples, of the resident memory of this process's children (ssh). */
  childrenPeakBytes: number;
}

/** Resident bytes of this process's direct children (from /proc/self/task/* /children). */
function childrenRssBytes(): number {
  let total = 0;
  try {
    for (const task of readdirSync('/proc/self/task')) {
      for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
        const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        total += kib === undefined ? 0 : Number(kib) * 1024;
      }
    }
  } catch {
    // a child that ended between the two reads: this sample counts what was there
  }
  return total;
}

function hwmBytes(): number {
  const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kib === undefined ? 0 : Number(kib) * 1024;
}

export function sampleRss(intervalMs = 10): { stop(): RssReport } {
  (globalThis as { gc?: () => void }).gc?.();
  const baselineBytes = process.memoryUsage.rss();
  let peak = baselineBytes;
  let childrenPeak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    childrenPeak = Math.max(childrenPeak, childrenRssBytes());
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      const peakBytes = Math.max(peak, process.memoryUsage.rss(), hwmBytes());
      return { baselineBytes, peakBytes, growthBytes: peakBytes - baselineBytes, childrenPeakBytes: childrenPeak };
    },
  };
}
