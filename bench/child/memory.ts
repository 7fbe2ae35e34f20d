// Peak resident memory of this process during a piece of work: the baseline is taken just before
// it starts; the peak is the larger of frequent samples and the kernel's own high-water mark
// (VmHWM, which never misses a peak; it may hold a start-up peak too, so growth is never understated).
import { readFileSync } from 'node:fs';

export interface RssReport {
  baselineBytes: number;
  peakBytes: number;
  growthBytes: number;
}

function hwmBytes(): number {
  const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kib === undefined ? 0 : Number(kib) * 1024;
}

export function sampleRss(intervalMs = 10): { stop(): RssReport } {
  (globalThis as { gc?: () => void }).gc?.();
  const baselineBytes = process.memoryUsage.rss();
  let peak = baselineBytes;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      const peakBytes = Math.max(peak, process.memoryUsage.rss(), hwmBytes());
      return { baselineBytes, peakBytes, growthBytes: peakBytes - baselineBytes };
    },
  };
}
