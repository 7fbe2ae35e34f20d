// Benchmark 6: the package as shipped. The .vsix that `npm run package` makes (in a scratch copy
// of the checkout, see lib/scratch.ts) and its size, and how long VS Code would take to load
// dist/extension.js and run activate() (with the unit tests' fake VS Code API; a fresh process
// per run, so each load is cold in the module sense, with the file in the page cache).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { execa } from 'execa';
import { repoRoot } from './lib/child';
import { fmtMs, fmtRange, type BenchContext, type Benchmark } from './lib/context';
import { median, rounds, type Contender } from './lib/harness';
import type { BenchResult } from './lib/report';
import { scratchPackage } from './lib/scratch';

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** What the minified extension bundle is made of, by package (our own code as "src"), largest first. */
async function bundleMakeup(checkout: string): Promise<Array<[string, number]>> {
  const result = await build({
    absWorkingDir: checkout,
    entryPoints: ['src/extension/extension.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    write: false,
    metafile: true,
    outfile: 'out.js',
    external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
    logLevel: 'silent',
  });
  const bytes = new Map<string, number>();
  for (const [file, input] of Object.entries(Object.values(result.metafile.outputs)[0]!.inputs)) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? 'src';
    bytes.set(name, (bytes.get(name) ?? 0) + input.bytesInOutput);
  }
  return [...bytes].sort((a, b) => b[1] - a[1]);
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
    const makeup = await bundleMakeup(build.dir);

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
        `dist/extension.js by package: ${makeup.slice(0, 8).map(([name, bytes]) => `${name} ${kib(bytes)}`).join(', ')}.`,
        'History (2026-11-30, issue 13): before, dist/extension.js was 1,016 KiB (zod 444 KiB for five schemas, ssh2 271 KiB, our code 114 KiB, execa 79 KiB) and the .vsix 552 KiB; zod/mini (21 KiB) and node:child_process instead of execa brought them to 485 KiB and 314 KiB. valibot would have taken about 7 KiB instead of 21 KiB, at the cost of one more dependency. Activation measured side by side then, 9 runs each, before and after in turn on a machine at load 10: before 202 ms and 243 ms, after 83 ms and 54 ms (two rounds); before alone at load 1.2 it was 79 ms. Loading a bundle half the size is what changed.',
        'Activation is timed in plain Node.js with the unit tests\' fake VS Code API (test/unit/extension/fakeVscode.ts), not inside VS Code: it measures our module load and activate(), not the editor\'s own work.',
      ],
    };
  },
};
