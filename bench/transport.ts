// Benchmark 1b: how a checkpoint of a container with a large heap (512 MiB) reaches the store.
// `stream` (the default: podman --export /dev/fd/3 read over one exec channel) against `file`
// (a temp file on the host, then pullFile's parallel channels) and a temp file fetched by ssh2's
// SFTP. Each run is a leave-running checkpoint, timed from a fresh core to a verified snapshot.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointResult } from './child/checkpointTasks';
import { runChild } from './lib/child';
import { startBallastApi } from './lib/containers';
import { MiB, fmtMs, fmtRange, type BenchContext, type Benchmark } from './lib/context';
import { median, rounds, type Contender, type Series } from './lib/harness';
import { ratioText, type BenchResult, type Variant } from './lib/report';

const heapMb = 512;

export const transportBenchmark: Benchmark = {
  id: 'transport',
  title: `Checkpoint transport, ${heapMb} MiB heap`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const container = `snapdebug-bench-${ctx.tag}-heap`;
    ctx.say(`starting ${container} on prod with a ${heapMb} MiB heap`);
    await startBallastApi(ctx, 'prod', container, heapMb);

    const sizes: number[] = [];
    const frozen = new Map<string, number[]>();
    let run = 0;
    const storeDir = () => {
      const dir = join(ctx.tmp, `store-${run++}`);
      mkdirSync(dir, { recursive: true });
      return dir;
    };
    const base = { sshConfig: ctx.sshConfig, host: 'prod', container };
    const measure = (label: string, task: () => Promise<CheckpointResult>) => async () => {
      const result = await task();
      sizes.push(result.bytes);
      if (result.frozenUs !== undefined) frozen.set(label, [...(frozen.get(label) ?? []), result.frozenUs]);
      return result.ms;
    };
    const streamLabel = 'stream: podman --export /dev/fd/3 over 1 exec channel (the default)';
    const fileLabel = 'file: temp file on the host, then pullFile (parallel channels)';
    const anchor: Contender = {
      label: streamLabel,
      run: measure(streamLabel, () => runChild<CheckpointResult>({ kind: 'checkpoint', ...base, storeDir: storeDir(), transport: 'stream' }, { signal: ctx.signal })),
    };
    const contenders: Contender[] = [
      { label: fileLabel, run: measure(fileLabel, () => runChild<CheckpointResult>({ kind: 'checkpoint', ...base, storeDir: storeDir(), transport: 'file' }, { signal: ctx.signal })) },
      {
        label: 'temp file on the host, then ssh2 SFTP fastGet (1 MiB chunks)',
        run: measure('sftp', () => runChild<CheckpointResult>({ kind: 'checkpoint-sftp', ...base, storeDir: storeDir(), chunkSize: MiB }, { signal: ctx.signal })),
      },
    ];
    const measured = await rounds(anchor, contenders, { runs: ctx.runs, warmup: ctx.warmup, say: ctx.say, signal: ctx.signal });
    const a = measured.anchor!;
    const row = (s: Series): Variant => ({
      label: s.label,
      median: fmtMs(s.median),
      range: fmtRange(s.min, s.max, fmtMs),
      ratio: s === a ? 'anchor' : ratioText(s.ratio),
      ...(frozen.has(s.label) && { note: `CRIU frozen time ${fmtMs(median(frozen.get(s.label)!) / 1000)}` }),
    });
    const file = measured.contenders.find((s) => s.label === fileLabel);
    const faster = file?.ratio === undefined ? 'unknown' : file.ratio < 0.9 ? 'file' : file.ratio > 1.1 ? 'stream' : 'neither clearly (within 10%)';
    return {
      id: 'transport',
      title: this.title,
      measuredAt: new Date().toISOString(),
      runs: ctx.runs,
      headlines: [
        {
          figure: `checkpoint ${heapMb} MiB heap into the store: file vs stream`,
          ours: file ? `file ${fmtMs(file.median)}` : 'file failed',
          anchor: `stream ${fmtMs(a.median)}`,
          ...(file?.ratio !== undefined && { ratio: file.ratio }),
          target: 'record (faster: ' + faster + ')',
          verdict: 'INFO',
        },
      ],
      variantsCaption: `Time from a fresh core to a verified snapshot in the store (ratio: time / stream's, per round, median). Archive size ${(median(sizes) / MiB).toFixed(0)} MiB (zstd).`,
      variants: [row(a), ...measured.contenders.map(row), ...[...measured.failed].map(([label, error]) => ({ label, median: 'failed', range: '', note: error }))],
      notes: [
        `Faster here: ${faster}. The default (settings.transport in src/core/core.ts) is stream.`,
        'podman dumps the whole checkpoint to disk before it writes the archive, so no transport overlaps the dump with the transfer; stream only saves writing and reading the archive file on the host, while file can use several channels for the transfer.',
        'History: when this benchmark was first run (2026-11-26), before src/core/snapshot/transfer.ts kept a streaming channel\'s receive window open (widenReceiveWindow), stream took 11.2 s and file 5.2 s here: file was then clearly faster (0.50x). A lone ssh2 channel is bound by its 2 MiB window, see the pull benchmark\'s single-channel variants.',
      ],
    };
  },
};
