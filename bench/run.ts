// `npm run bench [-- NAME ...] [--runs N] [--warmup N] [--no-write]`: runs the benchmarks (all, or
// those named) against the lab, prints the table and writes docs/benchmarks.md. Benchmarks never
// fail on a number: the exit status is 0 unless the run itself broke (lab down, a crash).
// Everything a benchmark creates is undone after it, in every outcome, Ctrl-C included.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { labFiles } from '../lab/paths';
import { sshBannerAt } from '../lab/hosts';
import { readState } from '../lab/state';
import { debugBenchmark } from './debug';
import { debugWanBenchmark } from './debugWan';
import { migrateWanBenchmark } from './migrateWan';
import { freezeBenchmark } from './freeze';
import { inspectBenchmark } from './inspect';
import { Cleanup } from './lib/cleanup';
import { repoRoot } from './lib/child';
import type { Benchmark, BenchContext } from './lib/context';
import { leftoversHere, leftoversOnHosts } from './lib/leftovers';
import { describeMachine, loadNow } from './lib/machine';
import { markdown, mergeResults, terminalTable, type BenchResult } from './lib/report';
import { memoryBenchmark } from './memory';
import { packageBenchmark } from './package';
import { pullBenchmark } from './pull';
import { transportBenchmark } from './transport';
import { treeBenchmark } from './tree';

const benchmarks: Benchmark[] = [pullBenchmark, transportBenchmark, debugBenchmark, debugWanBenchmark, migrateWanBenchmark, freezeBenchmark, treeBenchmark, memoryBenchmark, inspectBenchmark, packageBenchmark];
const needsNoLab = new Set(['package']);

const started = Date.now();
function say(line: string): void {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);
}

async function labIsUp(): Promise<boolean> {
  const state = readState();
  if (!state) return false;
  return (await Promise.all(state.hosts.map((h) => sshBannerAt(h.sshPort)))).every(Boolean);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { runs: { type: 'string', default: '3' }, warmup: { type: 'string', default: '1' }, 'no-write': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(`usage: npm run bench -- [${benchmarks.map((b) => b.id).join(' ')}] [--runs N (>= 3)] [--warmup N] [--no-write]\n`);
    return 0;
  }
  const unknown = positionals.filter((p) => !benchmarks.some((b) => b.id === p));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}: choose from ${benchmarks.map((b) => b.id).join(', ')}\n`);
    return 2;
  }
  const runs = Math.max(3, Number(values.runs));
  const warmup = Math.max(0, Number(values.warmup));
  const chosen = positionals.length === 0 ? benchmarks : benchmarks.filter((b) => positionals.includes(b.id));
  if (chosen.some((b) => !needsNoLab.has(b.id)) && !(await labIsUp())) {
    process.stderr.write('The lab is not up: start it with `npm run lab:up`, then run the benchmarks again.\n');
    return 1;
  }

  // A first Ctrl-C cancels: the running benchmark unwinds (its commands and children are
  // cancelled) and its cleanup runs as after any failure. A second one cleans up at once and exits.
  const controller = new AbortController();
  let current: Cleanup | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      say(`${signal}: cancelling; the benchmark's cleanup runs next (again to clean up and exit at once)`);
      controller.abort();
      return;
    }
    void (current?.runAll(say) ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const machine = await describeMachine(labFiles.sshConfig);
  say(`${machine.cpuModel}, ${machine.cores} cores, kernel ${machine.kernel}; load ${machine.loadStart}`);
  const tag = Date.now().toString(36);
  const results: BenchResult[] = [];
  for (const bench of chosen) {
    const cleanup = new Cleanup();
    current = cleanup;
    const tmp = mkdtempSync(join(tmpdir(), 'snapdebug-bench-'));
    cleanup.add(`local folder ${tmp}`, () => rmSync(tmp, { recursive: true, force: true }));
    const ctx: BenchContext = { sshConfig: labFiles.sshConfig, runs, warmup, say, cleanup, signal: controller.signal, tmp, tag };
    say(`== ${bench.title}`);
    let result: BenchResult;
    try {
      result = await bench.run(ctx);
    } catch (error) {
      const message = (error as Error).message.split('\n').slice(0, 6).join(' ');
      say(`${bench.id} did not complete: ${message}`);
      result = { id: bench.id, title: bench.title, measuredAt: new Date().toISOString(), runs, headlines: [], variants: [], notes: [], error: message };
    }
    const failures = await cleanup.runAll(say);
    if (failures.length > 0) result.notes.push(`Cleanup problems: ${failures.join('; ')}`);
    results.push(result);
    if (controller.signal.aborted) return 130;
  }
  current = undefined;
  machine.loadEnd = loadNow();

  if (chosen.some((b) => !needsNoLab.has(b.id))) {
    const left = [...(await leftoversOnHosts(labFiles.sshConfig, tag)), ...(await leftoversHere())];
    if (left.length > 0) say(`LEFT ON HOSTS (should be nothing): ${left.join(', ')}`);
    else say('nothing of this run is left on prod or debug, and no extra host is left here');
  }

  process.stdout.write('\n' + terminalTable(results) + '\n');
  if (!values['no-write']) {
    const merged = mergeResults(join(repoRoot, 'docs', 'benchmarks.json'), results, benchmarks.map((b) => b.id));
    const command = `npm run bench${positionals.length > 0 ? ` -- ${positionals.join(' ')}` : ''}`;
    writeFileSync(join(repoRoot, 'docs', 'benchmarks.md'), markdown({ date: machine.date, machine, command, results: merged }));
    say('wrote docs/benchmarks.md');
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
