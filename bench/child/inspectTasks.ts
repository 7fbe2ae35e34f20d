// The inspector's work as bench/inspect.ts measures it, run in the child (bundled like the
// product): inspect, a memory search and a core file of one archive, with the peak resident memory
// of this process and of its children (the zstd process that decompresses) added together.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeCoreFile } from '../../src/core/coredump/coreFile';
import { inspectSnapshot, searchMemory } from '../../src/core/index';

export interface InspectTask {
  kind: 'inspect' | 'search' | 'core';
  archive: string;
  text?: string;
  pid?: number;
  outDir?: string;
}

export interface InspectResult {
  ms: number;
  /**
   * Peak of this process (samples and the kernel's VmHWM) plus the peak of its children (samples)
   * minus this process before the work: the two peaks may not coincide, so this never understates.
   */
  growthBytes: number;
  /** The two parts of it: this process's growth, and its children's peak. */
  ownGrowthBytes: number;
  childPeakBytes: number;
  /** What was found: processes, hits, or the core's size. */
  found: number;
}

const pageSize = 4096;

const rss = (pid: string | number) => {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * pageSize;
  } catch {
    return 0; // a child that just ended
  }
};

function hwmBytes(): number {
  const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kib === undefined ? 0 : Number(kib) * 1024;
}

/** Resident bytes of this process's direct children (the zstd decompressor), from /proc. */
function childrenRss(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) total += rss(entry);
    } catch {
      // gone
    }
  }
  return total;
}

export async function inspectTask(task: InspectTask): Promise<InspectResult> {
  (globalThis as { gc?: () => void }).gc?.();
  // Resets VmHWM to the RSS now (Linux: "5" clears the peak), so loading the bundle does not count.
  writeFileSync('/proc/self/clear_refs', '5');
  const baseline = rss(process.pid);
  let ownPeak = baseline;
  let childPeak = 0;
  const sample = () => {
    ownPeak = Math.max(ownPeak, rss(process.pid));
    childPeak = Math.max(childPeak, childrenRss());
  };
  const timer = setInterval(sample, 20);
  const started = performance.now();
  try {
    let found = 0;
    if (task.kind === 'inspect') found = (await inspectSnapshot(task.archive)).processes.length;
    if (task.kind === 'search') found = (await searchMemory(task.archive, { text: task.text ?? '' })).hits.length;
    if (task.kind === 'core') found = (await writeCoreFile({ archivePath: task.archive, pid: task.pid ?? 1, outDir: task.outDir ?? '.' })).bytes;
    const ms = performance.now() - started;
    sample();
    const ownGrowthBytes = Math.max(ownPeak, hwmBytes()) - baseline;
    return { ms, growthBytes: ownGrowthBytes + childPeak, ownGrowthBytes, childPeakBytes: childPeak, found };
  } finally {
    clearInterval(timer);
  }
}
