// Benchmark: a live migration where users are (`lab:link wan`: this machine 100 Mbit/s and 40 ms
// from the hosts, the hosts 1 Gbit/s from each other), a 512 MiB random heap. The anchor is the
// seed article's own migration, host to host: `podman container checkpoint -e`, `scp` from prod
// to debug (run on prod, with a key made for it beforehand, untimed), `podman container restore
// -i`. Ours is `snapdebug migrate prod/C --to debug`: it checks the target first, goes host to
// host, and verifies the target runs the same processes. Each run migrates a fresh container
// (started untimed); the link is put back as it was afterwards.
import { spawn } from 'node:child_process';
import { startBallastApi } from './lib/containers';
import { fmtMs, fmtRange, type BenchContext, type Benchmark } from './lib/context';
import { median, rounds, type Contender } from './lib/harness';
import { q, ssh } from './lib/openssh';
import { ratioText, verdict, type BenchResult, type Variant } from './lib/report';
import { useLinkProfile } from './lib/link';
import { scratchPackage } from './lib/scratch';
import { hostToHostKey } from './debugWan';

const heapMb = 512;
const target = 1.0;
const hostsBitsPerSecond = 1e9;

interface ManualPhases {
  checkpoint: number;
  transfer: number;
  restore: number;
  archiveBytes: number;
}

interface OursPhases {
  prepare: number;
  checkpoint: number;
  fetch: number;
  restore: number;
  verify: number;
}

/** Removes the container on both hosts and any archive the manual run left (untimed). */
async function clearBoth(ctx: BenchContext, name: string, archive?: string): Promise<void> {
  for (const host of ['prod', 'debug']) await ssh(ctx.sshConfig, host, `podman rm -f -t 0 ${q(name)} >/dev/null 2>&1; ${archive ? `rm -f ${q(archive)}; ` : ''}true`);
}

/** The seed's migration: checkpoint -e on prod (it stops), scp prod → debug run on prod, restore -i on debug. */
async function manualOnce(ctx: BenchContext, name: string, link: Awaited<ReturnType<typeof hostToHostKey>>): Promise<ManualPhases> {
  const archive = `/var/tmp/snapdebug-bench-${ctx.tag}-mig.tar.gz`;
  const undo = ctx.cleanup.add(`${name} and its archive on both hosts`, () => clearBoth(ctx, name, archive));
  await startBallastApi(ctx, 'prod', name, heapMb);
  try {
    let mark = performance.now();
    const lap = () => {
      const now = performance.now();
      const ms = now - mark;
      mark = now;
      return ms;
    };
    const archiveBytes = Number(await ssh(ctx.sshConfig, 'prod', `podman container checkpoint ${q(name)} -e ${q(archive)} >/dev/null && stat -c %s ${q(archive)}`));
    const checkpoint = lap();
    await ssh(ctx.sshConfig, 'prod', `scp -q -i ${q(link.key)} -o UserKnownHostsFile=${q(link.knownHosts)} -o StrictHostKeyChecking=yes -o BatchMode=yes ${q(archive)} ${q(`root@${link.debugName}:${archive}`)}`);
    const transfer = lap();
    await ssh(ctx.sshConfig, 'debug', `podman container restore -i ${q(archive)} >/dev/null`);
    const restore = lap();
    return { checkpoint, transfer, restore, archiveBytes };
  } finally {
    await undo();
  }
}

/** `snapdebug migrate` through the shipped CLI bundle; its progress lines (stderr, a pipe) mark its phases. */
async function oursOnce(ctx: BenchContext, cli: string, name: string): Promise<{ ms: number; phases: OursPhases }> {
  const undo = ctx.cleanup.add(`${name} on both hosts`, () => clearBoth(ctx, name));
  await startBallastApi(ctx, 'prod', name, heapMb);
  try {
    const started = performance.now();
    const marks = new Map<string, number>();
    const phaseLines: Array<[string, RegExp]> = [
      ['checkpoint', /^Checkpointing /],
      ['fetch', /fetches the archive from prod directly/],
      ['restore', /^Restoring /],
      ['verify', /runs on debug with the same processes/],
    ];
    const child = spawn('node', [cli, '--ssh-config', ctx.sshConfig, '--json', 'migrate', `prod/${name}`, '--to', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderr = (stderr + text).slice(-4000);
      for (const line of text.split(/[\r\n]/)) for (const [phase, pattern] of phaseLines) if (!marks.has(phase) && pattern.test(line)) marks.set(phase, performance.now());
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const done = performance.now();
    if (code !== 0) throw new Error(`snapdebug migrate exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const result = JSON.parse(stdout) as { route: { hostToHost: boolean; reason?: string } };
    if (!result.route.hostToHost) throw new Error(`the archive went through this machine: ${result.route.reason}`);
    const at = (phase: string) => marks.get(phase) ?? NaN;
    return {
      ms: done - started,
      phases: { prepare: at('checkpoint') - started, checkpoint: at('fetch') - at('checkpoint'), fetch: at('restore') - at('fetch'), restore: at('verify') - at('restore'), verify: done - at('verify') },
    };
  } finally {
    await undo();
  }
}

const labels = {
  manual: "the seed's migration host to host (checkpoint -e, scp prod → debug run on prod, restore -i)",
  ours: 'ours: snapdebug migrate prod/C --to debug (checks, host to host, verifies)',
};

export const migrateWanBenchmark: Benchmark = {
  id: 'migrate-wan',
  title: `Migration on a wan link, ${heapMb} MiB heap`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const build = await scratchPackage(ctx);
    await useLinkProfile(ctx, 'wan');
    const link = await hostToHostKey(ctx);
    const manual: ManualPhases[] = [];
    const ours: OursPhases[] = [];
    let n = 0;
    const anchor: Contender = {
      label: labels.manual,
      run: async () => {
        const phases = await manualOnce(ctx, `snapdebug-bench-${ctx.tag}-mig-${n++}`, link);
        manual.push(phases);
        return phases.checkpoint + phases.transfer + phases.restore;
      },
    };
    const oursContender: Contender = {
      label: labels.ours,
      run: async () => {
        const once = await oursOnce(ctx, build.cli, `snapdebug-bench-${ctx.tag}-mig-${n++}`);
        ours.push(once.phases);
        return once.ms;
      },
    };
    const measured = await rounds(anchor, [oursContender], { runs: ctx.runs, warmup: ctx.warmup, say: ctx.say, signal: ctx.signal });
    const series = measured.contenders[0];
    const warm = <T>(list: T[]) => list.slice(ctx.warmup);
    const med = <T>(list: T[], pick: (x: T) => number) => fmtMs(median(warm(list).map(pick)));
    const bytes = median(warm(manual).map((p) => p.archiveBytes));
    const variants: Variant[] = [
      ...[measured.anchor!, ...measured.contenders].map((s) => ({ label: s.label, median: fmtMs(s.median), range: fmtRange(s.min, s.max, fmtMs), ratio: s === measured.anchor ? 'anchor' : ratioText(s.ratio) })),
      ...[...measured.failed].map(([label, error]) => ({ label, median: 'failed', range: '', note: error })),
    ];
    return {
      id: 'migrate-wan',
      title: this.title,
      measuredAt: new Date().toISOString(),
      runs: ctx.runs,
      headlines: [
        {
          figure: 'migration time: ours vs the seed host to host',
          ours: series ? fmtMs(series.median) : 'failed',
          anchor: `manual ${fmtMs(measured.anchor!.median)}`,
          ...(series?.ratio !== undefined && { ratio: series.ratio }),
          target: `<= ${target}x`,
          verdict: verdict(series?.ratio === undefined ? undefined : series.ratio <= target),
        },
      ],
      variantsCaption: 'Time from the first command until the container runs on debug (ours: until the CLI exits, the target verified) on `lab:link wan`; ratio: time / manual, per round, median.',
      variants,
      notes: [
        'wan: this machine ↔ each host 100 Mbit/s each way with 40 ms round trip; host ↔ host 1 Gbit/s. The manual sequence needs a key on prod that debug accepts: made before the rounds, untimed, removed after (ours leaves none: a one-time key for one forced command).',
        `podman's archive ${(bytes / 1048576).toFixed(0)} MiB; the hosts' link moves it in at least ${((bytes * 8) / hostsBitsPerSecond).toFixed(1)} s (bytes ÷ rate); through this machine it would cross the 100 Mbit/s link twice, at least ${((2 * bytes * 8) / 100e6).toFixed(0)} s.`,
        `Manual, median per step: checkpoint ${med(manual, (p) => p.checkpoint)}, scp prod → debug ${med(manual, (p) => p.transfer)}, restore ${med(manual, (p) => p.restore)}.`,
        `Ours, median per phase: checks and plan on both hosts ${med(ours, (p) => p.prepare)}, checkpoint (debug already fetching as podman writes) ${med(ours, (p) => p.checkpoint)}, the rest of the fetch ${med(ours, (p) => p.fetch)}, restore ${med(ours, (p) => p.restore)}, verify (podman top on debug) and finish ${med(ours, (p) => p.verify)}.`,
      ],
    };
  },
};
