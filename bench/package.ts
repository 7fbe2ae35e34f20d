// Benchmark 6: the package as shipped. The .vsix that `npm run package` makes (in a scratch copy
// of the checkout, see lib/scratch.ts) and its size, and how long VS Code would take to load
// dist/extension.js and run activate() (with the unit tests' fake VS Code API; a fresh process
// per run, so each load is cold in the module sense, with the file in the page cache).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from './lib/child';
import { fmtMs, fmtRange, type BenchContext, type Benchmark } from './lib/context';
import { median, rounds, type Contender } from './lib/harness';
import type { BenchResult } from './lib/report';
import { scratchPackage } from './lib/scratch';

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

export const packageBenchmark: Benchmark = {
  id: 'package',
  title: 'Package and activation',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const build = await scratchPackage(ctx);
    const vsixBytes = statSync(build.vsix).size;
    const bundleBytes = statSync(build.extension).size;
    const cliBytes = statSync(build.cli).size;
    const files = (await execa('unzip', ['-Z1', build.vsix])).stdout.split('\n').filter(Boolean);

    const loads: number[] = [];
    const activation: Contender = {
      label: 'require(dist/extension.js) + activate()',
      run: async () => {
        const result = await execa('node', ['--import', 'tsx', join(repoRoot, 'bench', 'child', 'activate.ts'), build.extension], { cwd: repoRoot, timeout: 60_000 });
        const { loadMs, activateMs } = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { loadMs: number; activateMs: number };
        loads.push(loadMs);
        return loadMs + activateMs;
      },
    };
    const measured = await rounds(undefined, [activation], { runs: Math.max(ctx.runs, 5), warmup: ctx.warmup, say: ctx.say, signal: ctx.signal });
    const s = measured.contenders[0];
    const counted = loads.slice(ctx.warmup);
    return {
      id: 'package',
      title: this.title,
      measuredAt: new Date().toISOString(),
      runs: Math.max(ctx.runs, 5),
      headlines: [
        { figure: '.vsix size', ours: kib(vsixBytes), anchor: '—', target: 'record', verdict: 'INFO' },
        { figure: 'activation (load + activate)', ours: s ? fmtMs(s.median) : 'failed', anchor: '—', target: 'record', verdict: 'INFO' },
      ],
      variants: s
        ? [
            { label: 'load dist/extension.js (require)', median: fmtMs(median(counted)), range: fmtRange(Math.min(...counted), Math.max(...counted), fmtMs) },
            { label: 'load + activate()', median: fmtMs(s.median), range: fmtRange(s.min, s.max, fmtMs) },
          ]
        : [],
      notes: [
        `snapdebug.vsix: ${kib(vsixBytes)}, ${files.length} files (${files.join(', ')}).`,
        `dist/extension.js ${kib(bundleBytes)}, dist/cli.js ${kib(cliBytes)} (production bundles, minified). \`npm run package\` took ${fmtMs(build.packageMs)}.`,
        'Activation is timed in plain Node.js with the unit tests\' fake VS Code API (test/unit/extension/fakeVscode.ts), not inside VS Code: it measures our module load and activate(), not the editor\'s own work.',
      ],
    };
  },
};
