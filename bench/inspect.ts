// Benchmark 8: looking inside a 1 GiB snapshot (issue 16), against checkpointctl 1.3.0 in the same
// rounds. demo-api with 1 GiB of random heap and a token POSTed into it is checkpointed once (zstd,
// as the product stores it); then, per round, in rotating order: `inspect` (ours) vs
// `checkpointctl inspect --all`, a memory search for the token (ours) vs `checkpointctl memparse
// --search` on the same plain tar (checkpointctl reads no memory of CRIU 4.2's pagemaps, so both
// read a copy whose pagemaps it understands: see lab/checkpointctl.ts), and a core file of the
// process (ours; checkpointctl makes none). Our figures come from a child process bundled like the
// product; memory growth counts it and its zstd child; checkpointctl's is its peak RSS (GNU time).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { checkpointctlCommand, compatArchive } from '../lab/checkpointctl';
import { createCore } from '../src/core/core';
import { checkpoint } from '../src/core/snapshot/checkpoint';
import { refusePrompts } from './child/pullTasks';
import type { InspectResult, InspectTask } from './child/inspectTasks';
import { runChild } from './lib/child';
import { startBallastApi } from './lib/containers';
import { MiB, fmtMs, fmtRange, type BenchContext, type Benchmark } from './lib/context';
import { rounds, type Contender, type Series } from './lib/harness';
import { q, ssh } from './lib/openssh';
import { ratioText, verdict, type BenchResult, type Headline, type Variant } from './lib/report';

const heapMb = 1024;
const growthTargetMiB = 64;
const gnuTime = '/usr/bin/time';

interface Measured {
  ms: number[];
  growthMiB: number[];
  /** Of which: the zstd child's peak (ours only). */
  childMiB: number[];
}

function ours(label: string, task: InspectTask, into: Measured, expect: (found: number) => boolean, ctx: BenchContext): Contender {
  return {
    label,
    run: async () => {
      const result = await runChild<InspectResult>(task, { signal: ctx.signal, nodeArgs: ['--expose-gc'] });
      if (!expect(result.found)) throw new Error(`${task.kind} found ${result.found}`);
      into.ms.push(result.ms);
      into.growthMiB.push(result.growthBytes / MiB);
      into.childMiB.push(result.childPeakBytes / MiB);
      return result.ms;
    },
  };
}

function checkpointctl(label: string, args: string[], into: Measured, ctx: BenchContext): Contender {
  return {
    label,
    run: async () => {
      const started = performance.now();
      const result = await execa(gnuTime, ['-f', '%M', ...checkpointctlCommand(), ...args], { cancelSignal: ctx.signal, timeout: 600_000, maxBuffer: 512 * MiB });
      const ms = performance.now() - started;
      into.ms.push(ms);
      into.growthMiB.push(Number(result.stderr.trim().split('\n').at(-1)) / 1024);
      return ms;
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const mib = (v: number) => `${v.toFixed(1)} MiB`;

function timeHeadline(figure: string, o: Series | undefined, anchor: Series | undefined): Headline {
  return {
    figure,
    ours: o ? fmtMs(o.median) : 'failed',
    anchor: anchor ? `checkpointctl ${fmtMs(anchor.median)}` : '—',
    ...(o?.ratio !== undefined && { ratio: o.ratio }),
    target: '<= 1.0x',
    verdict: verdict(o?.ratio === undefined ? undefined : o.ratio <= 1),
  };
}

function memoryHeadline(figure: string, m: Measured, warmup: number): Headline {
  const growth = median(m.growthMiB.slice(warmup));
  return { figure, ours: Number.isFinite(growth) ? mib(growth) : 'failed', anchor: '—', target: `<= ${growthTargetMiB} MiB`, verdict: verdict(Number.isFinite(growth) ? growth <= growthTargetMiB : undefined) };
}

function variants(all: Array<{ series: Series; memory: Measured; ratioTo?: boolean }>, warmup: number): Variant[] {
  return all.map(({ series, memory, ratioTo }) => ({
    label: series.label,
    median: fmtMs(series.median),
    range: fmtRange(series.min, series.max, fmtMs),
    ...(ratioTo !== undefined && { ratio: ratioTo ? 'anchor' : ratioText(series.ratio) }),
    note: memory.childMiB.length
      ? `memory ${mib(median(memory.growthMiB.slice(warmup)))} (zstd process ${mib(median(memory.childMiB.slice(warmup)))} of it)`
      : `peak RSS ${mib(median(memory.growthMiB.slice(warmup)))}`,
  }));
}

export const inspectBenchmark: Benchmark = {
  id: 'inspect',
  title: 'Looking inside a 1 GiB snapshot vs checkpointctl',
  async run(ctx: BenchContext): Promise<BenchResult> {
    if (!existsSync(gnuTime)) throw new Error(`${gnuTime} is missing (apt-get install time)`);
    const name = `snapdebug-bench-${ctx.tag}-inspect`;
    ctx.say(`starting ${name} on prod with ${heapMb} MiB of random heap`);
    await startBallastApi(ctx, 'prod', name, heapMb);
    const token = `snapdebug-bench-token-${ctx.tag}`;
    await ssh(ctx.sshConfig, 'prod', `curl -sf --max-time 10 -X POST --data-binary ${q(token)} http://$(podman inspect -f '{{.NetworkSettings.IPAddress}}' ${q(name)}):8080/note`);
    const core = createCore({ sshConfigFile: ctx.sshConfig, storeDir: join(ctx.tmp, 'store'), prompts: refusePrompts });
    let archive: string;
    try {
      const meta = await checkpoint(core, { host: 'prod', container: name, options: { leaveRunning: true } }, { signal: ctx.signal });
      archive = core.store.archivePath(meta);
      ctx.say(`checkpointed: ${(meta.size / MiB).toFixed(0)} MiB zstd`);
    } finally {
      core.dispose();
    }
    const compat = compatArchive(archive, ctx.tmp);

    const m = () => ({ ms: [], growthMiB: [], childMiB: [] }) as Measured;
    const memory = { inspect: m(), ctlInspect: m(), searchPlain: m(), searchZstd: m(), ctlSearch: m(), core: m() };
    const options = { runs: ctx.runs, warmup: ctx.warmup, say: ctx.say, signal: ctx.signal };
    const warmup = ctx.warmup;

    ctx.say('inspect: ours vs checkpointctl inspect --all, on the zstd archive');
    const inspect = await rounds(
      checkpointctl('checkpointctl inspect --all --format json (zstd archive)', ['inspect', archive, '--all', '--format', 'json'], memory.ctlInspect, ctx),
      [ours('ours: inspect (zstd archive; argv and environment read from memory too)', { kind: 'inspect', archive }, memory.inspect, (n) => n === 1, ctx)],
      options,
    );
    ctx.say('memory search: ours vs checkpointctl memparse --search, on the same plain tar');
    const search = await rounds(
      checkpointctl('checkpointctl memparse --pid 1 --search (plain tar)', ['memparse', compat, '--pid', '1', '--search', token], memory.ctlSearch, ctx),
      [
        ours('ours: memory --search (plain tar)', { kind: 'search', archive: compat, text: token }, memory.searchPlain, (n) => n >= 1, ctx),
        ours('ours: memory --search (zstd archive, as stored)', { kind: 'search', archive, text: token }, memory.searchZstd, (n) => n >= 1, ctx),
      ],
      options,
    );
    ctx.say('core: ours (checkpointctl has none)');
    const coreRounds = await rounds(undefined, [ours('ours: core --pid 1 (zstd archive)', { kind: 'core', archive, pid: 1, outDir: join(ctx.tmp, 'core') }, memory.core, (n) => n > heapMb * MiB, ctx)], options);

    const inspectOurs = inspect.contenders[0];
    const [searchPlain, searchZstd] = search.contenders;
    return {
      id: 'inspect',
      title: this.title,
      measuredAt: new Date().toISOString(),
      runs: ctx.runs,
      headlines: [
        timeHeadline('inspect, 1 GiB snapshot', inspectOurs, inspect.anchor),
        timeHeadline('memory search, 1 GiB (same plain tar)', searchPlain, search.anchor),
        memoryHeadline('memory growth: inspect', memory.inspect, warmup),
        memoryHeadline('memory growth: memory search (zstd)', memory.searchZstd, warmup),
        memoryHeadline('memory growth: core', memory.core, warmup),
      ],
      variantsCaption: 'Time per way (ratio: ours / checkpointctl in the same round, median); memory: growth of our process and its zstd child, or checkpointctl\'s peak RSS.',
      variants: [
        ...variants([{ series: inspect.anchor!, memory: memory.ctlInspect, ratioTo: true }, { series: inspectOurs!, memory: memory.inspect, ratioTo: false }], warmup),
        ...variants([{ series: search.anchor!, memory: memory.ctlSearch, ratioTo: true }, { series: searchPlain!, memory: memory.searchPlain, ratioTo: false }, { series: searchZstd!, memory: memory.searchZstd, ratioTo: false }], warmup),
        ...variants([{ series: coreRounds.contenders[0]!, memory: memory.core }], warmup),
        ...[...inspect.failed, ...search.failed, ...coreRounds.failed].map(([label, error]) => ({ label, median: 'failed', range: '', note: error })),
      ],
      notes: [
        `The snapshot: demo-api with ${heapMb} MiB of random heap, checkpointed leave-running with zstd, as the product stores it; the plain tar is the same archive decompressed, its pagemaps also carrying CRIU's pre-4.2 page count field.`,
        'checkpointctl 1.3.0 reads only the pre-4.2 page count: on the zstd archive as CRIU 4.2.1 wrote it, memparse --search finds nothing without reading any memory, so its search runs on the plain tar, and ours on both.',
        'Ours reads the archive through the product\'s one tar reader (tarEntries over archiveStream, src/core/archive/tar.ts): zstd is decompressed by a `zstd` process that reads the archive itself and writes into a FIFO this process reads into one reused 1 MiB buffer (src/core/archive/zstdFile.ts); checkpointctl decompresses in Go, in process. checkpointctl memparse first writes the pages image to a temporary folder, then reads it; ours searches it as it streams.',
        'Memory growth: our process\'s peak (samples every 20 ms and VmHWM, reset just before the work) minus its RSS just before, plus the zstd process\'s peak; checkpointctl: its peak RSS (GNU time), the whole process.',
        'Before reading zstd\'s output into a reused buffer, the same search grew by 58–66 MiB: Node gives every read of a pipe a fresh Buffer, and V8 let about 45 MiB of them pile up before collecting.',
        'Moving from the inspector\'s own tar reader to the product\'s one changed nothing measurable: on one 1 GiB archive, with this child, our process grew by 17.8–18.4 MiB with the old reader and 16.2–18.4 MiB with the new (4 runs each, same tree); the branch before it merged main grew by 11.7–14.0 MiB there, whichever reader, so the rise since the previous run (24.5 → 30.2 MiB in all) comes with the rest of the merged code, in the bundle only (run unbundled, both trees grow alike).',
      ],
    };
  },
};
