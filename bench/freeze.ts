// Benchmark 3: how long production is frozen. CRIU's own frozen time (meta.criu.frozenTimeUs, read
// from the archive's stats-dump) of a plain leave-running checkpoint, against a pre-checkpoint
// followed by a checkpoint --with-previous (only the pages dirtied since the pre-dump are copied
// while frozen), for demo-api with a 1 GiB heap that barely changes. Needs the kernel's soft-dirty
// page tracking; where it is missing the flow cannot run, and the result says so.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createCore } from '../src/core/core';
import { checkpoint } from '../src/core/snapshot/checkpoint';
import type { SnapshotMeta } from '../src/core/snapshot/store';
import { refusePrompts } from './child/pullTasks';
import { startBallastApi } from './lib/containers';
import { fmtMs, fmtRange, type BenchContext, type Benchmark } from './lib/context';
import { median, rounds, type Contender, type Series } from './lib/harness';
import { ssh } from './lib/openssh';
import { ratioText, verdict, type BenchResult, type Variant } from './lib/report';

const heapMb = 1024;
const target = 0.3;

function frozenMs(meta: SnapshotMeta): number {
  if (!meta.criu) throw new Error(`${meta.id} carries no CRIU statistics`);
  return meta.criu.frozenTimeUs / 1000;
}

export const freezeBenchmark: Benchmark = {
  id: 'freeze',
  title: `Production freeze, ${heapMb} MiB heap`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const dirtyCheck = await ssh(ctx.sshConfig, 'prod', 'criu check --feature mem_dirty_track 2>&1; echo "exit $?"').catch((e: Error) => e.message);
    const softDirty = /exit 0\s*$/.test(dirtyCheck) && !/OFF|missing|not supported/i.test(dirtyCheck);
    ctx.say(`soft-dirty tracking on prod: ${softDirty ? 'yes' : 'no'} (${dirtyCheck.trim().split('\n')[0]})`);

    const container = `snapdebug-bench-${ctx.tag}-freeze`;
    ctx.say(`starting ${container} on prod with a ${heapMb} MiB heap`);
    await startBallastApi(ctx, 'prod', container, heapMb);
    const storeDir = join(ctx.tmp, 'store');
    mkdirSync(storeDir, { recursive: true });
    const core = createCore({ sshConfigFile: ctx.sshConfig, storeDir, prompts: refusePrompts });
    ctx.cleanup.add('the benchmark core', () => core.dispose());
    const request = { host: 'prod', container };

    const wall = new Map<string, number[]>();
    const preFrozen: number[] = [];
    const note = (label: string, ms: number) => wall.set(label, [...(wall.get(label) ?? []), ms]);
    const plainLabel = 'plain checkpoint --leave-running';
    const incrementalLabel = 'ours: pre-checkpoint, then checkpoint --with-previous (final freeze)';
    const anchor: Contender = {
      label: plainLabel,
      run: async () => {
        const meta = await checkpoint(core, { ...request, options: { leaveRunning: true } });
        core.store.remove(meta.id);
        note(plainLabel, meta.timings.totalMs);
        return frozenMs(meta);
      },
    };
    const incremental: Contender = {
      label: incrementalLabel,
      run: async () => {
        const pre = await checkpoint(core, { ...request, options: { leaveRunning: true, preCheckpoint: true } });
        try {
          const meta = await checkpoint(core, { ...request, options: { leaveRunning: true, withPrevious: true }, previous: pre.id });
          core.store.remove(meta.id);
          preFrozen.push(frozenMs(pre));
          note(incrementalLabel, pre.timings.totalMs + meta.timings.totalMs);
          return frozenMs(meta);
        } finally {
          core.store.remove(pre.id);
        }
      },
    };
    const measured = await rounds(anchor, [incremental], { runs: ctx.runs, warmup: ctx.warmup, say: ctx.say, signal: ctx.signal });
    const a = measured.anchor!;
    const o = measured.contenders.find((s) => s.label === incrementalLabel);
    const failure = measured.failed.get(incrementalLabel);
    const row = (s: Series): Variant => ({
      label: s.label,
      median: fmtMs(s.median),
      range: fmtRange(s.min, s.max, fmtMs),
      ratio: s === a ? 'anchor' : ratioText(s.ratio),
      ...(wall.has(s.label) && { note: `whole checkpoint(s), wall: ${fmtMs(median(wall.get(s.label)!))}` }),
    });
    const notes = [
      `Soft-dirty page tracking on prod's kernel (criu check --feature mem_dirty_track): ${softDirty ? 'available' : `not available — \`${dirtyCheck.trim().split('\n')[0]}\``}.`,
    ];
    if (o) notes.push(`The pre-checkpoint itself froze the container for ${fmtMs(median(preFrozen))} (median), earlier and separately.`);
    if (failure) {
      notes.push(
        `The pre-checkpoint + with-previous flow failed here: ${failure}`,
        softDirty
          ? 'Soft-dirty tracking is available, so this failure is not the kernel\'s: see the error.'
          : 'Cause: the kernel is built without CONFIG_MEM_SOFT_DIRTY, so CRIU cannot track which pages change after a pre-dump; runc checks for that feature (mem_dirty_track) before `--pre-dump` and podman reports "CRIU is missing features". Not podman\'s or our bug; it needs a kernel with soft-dirty tracking.',
      );
    }
    return {
      id: 'freeze',
      title: this.title,
      measuredAt: new Date().toISOString(),
      runs: ctx.runs,
      headlines: [
        {
          figure: 'CRIU frozen time of the final checkpoint',
          ours: o ? fmtMs(o.median) : softDirty ? 'failed' : 'cannot run: no soft-dirty tracking',
          anchor: `plain ${fmtMs(a.median)}`,
          ...(o?.ratio !== undefined && { ratio: o.ratio }),
          target: `<= ${target}x`,
          verdict: verdict(o?.ratio === undefined ? undefined : o.ratio <= target),
        },
      ],
      variantsCaption: 'CRIU\'s frozen time (from the snapshot\'s metadata) per way (ratio: frozen time / plain\'s, per round, median).',
      variants: [row(a), ...measured.contenders.map(row), ...[...measured.failed].map(([label, error]) => ({ label, median: 'failed', range: '', note: error }))],
      notes,
    };
  },
};
