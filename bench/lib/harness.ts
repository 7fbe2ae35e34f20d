// Measuring on a shared, noisy machine: a warm-up round first, then rounds in which the anchor
// and every contender run once each, in an order that rotates from round to round, so drift in
// the machine's speed hits all of them alike. A figure is the median of its rounds; its ratio to
// the anchor is the median of the per-round ratios (each a pair measured side by side).
import type { Say } from './cleanup';

export interface Contender {
  label: string;
  /** One measured run: returns its figure (milliseconds unless the benchmark says otherwise). */
  run: () => Promise<number>;
}

export interface Series {
  label: string;
  values: number[];
  median: number;
  min: number;
  max: number;
  /** Per-round value / anchor value, when an anchor ran in the same rounds. */
  ratios?: number[];
  ratio?: number;
}

export interface RoundsOptions {
  runs: number;
  warmup: number;
  say: Say;
  signal?: AbortSignal;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function series(label: string, values: number[], anchor?: number[]): Series {
  const result: Series = { label, values, median: median(values), min: Math.min(...values), max: Math.max(...values) };
  if (anchor && anchor.length === values.length && anchor.every((a) => a > 0)) {
    result.ratios = values.map((v, i) => v / anchor[i]!);
    result.ratio = median(result.ratios);
  }
  return result;
}

/**
 * Runs `anchor` and `contenders` in rotating order: `warmup` rounds not counted, then `runs`
 * counted rounds. A contender that fails is recorded as failed (its error kept) and left out of
 * the following rounds; the anchor failing ends the comparison.
 */
export async function rounds(
  anchor: Contender | undefined,
  contenders: Contender[],
  options: RoundsOptions,
): Promise<{ anchor?: Series; contenders: Series[]; failed: Map<string, string> }> {
  const all = anchor ? [anchor, ...contenders] : contenders;
  const values = new Map<string, number[]>(all.map((c) => [c.label, []]));
  const failed = new Map<string, string>();
  const total = options.warmup + options.runs;
  for (let round = 0; round < total; round++) {
    const counted = round >= options.warmup;
    const order = all.map((_, i) => all[(i + round) % all.length]!);
    for (const contender of order) {
      if (options.signal?.aborted) throw new Error('cancelled');
      if (failed.has(contender.label)) continue;
      try {
        const value = await contender.run();
        if (counted) values.get(contender.label)!.push(value);
        options.say(`  ${counted ? `run ${round - options.warmup + 1}/${options.runs}` : 'warm-up'}  ${contender.label}: ${format(value)}`);
      } catch (error) {
        if (contender === anchor) throw error;
        const message = describe(error);
        failed.set(contender.label, message);
        options.say(`  ${contender.label} failed: ${message}`);
      }
    }
  }
  const anchorValues = anchor ? values.get(anchor.label)! : undefined;
  return {
    ...(anchor && { anchor: series(anchor.label, anchorValues!) }),
    contenders: contenders.filter((c) => !failed.has(c.label)).map((c) => series(c.label, values.get(c.label)!, anchorValues)),
    failed,
  };
}

/** An error in one line: its message, and the lines of its detail that say what failed (podman's). */
function describe(error: unknown): string {
  const { message, detail } = error as Error & { detail?: string };
  const said = (detail ?? '')
    .split('\n')
    .map((line) => /level=error msg="([^"]+)"/.exec(line)?.[1] ?? (/^Error: (.*)/.exec(line.trim())?.[1] ?? ''))
    .filter(Boolean);
  // A quoted command line (runc's, with its paths) says little beyond its first words.
  const short = (text: string) => text.replace(/`(\S+ \S+)[^`]{60,}`/g, '`$1 …`');
  return short([message.split('\n')[0], ...said].join(' — ')).slice(0, 600);
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** Milliseconds since `started` (performance.now()). */
export function since(started: number): number {
  return performance.now() - started;
}
