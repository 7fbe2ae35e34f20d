// What run.ts hands every benchmark: the lab's ssh_config, how many runs, where to say progress,
// the benchmark's undo list, a cancel signal, and a local temporary folder of its own.
import type { Cleanup, Say } from './cleanup';
import type { BenchResult } from './report';

export interface BenchContext {
  sshConfig: string;
  runs: number;
  warmup: number;
  say: Say;
  cleanup: Cleanup;
  signal: AbortSignal;
  /** A local folder for this benchmark, removed after it. */
  tmp: string;
  /** A name part unique to this run, for everything created on hosts (snapdebug-bench-<tag>-...). */
  tag: string;
}

export interface Benchmark {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function fmtRange(min: number, max: number, fmt: (v: number) => string): string {
  return `${fmt(min)} – ${fmt(max)}`;
}

/** MiB/s for `bytes` moved in `ms`. */
export function mibPerS(bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000);
}
