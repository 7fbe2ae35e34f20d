// Benchmark 2: from "snapshot this container" to a debugger's first answer, demo-api with a
// 512 MiB heap on prod, copy on debug. Ours: the shipped CLI's `debug` command, timed from its
// start until GET /json/version answers through the port it prints. The anchor: the seed
// article's manual sequence, scripted with OpenSSH (checkpoint to a file, scp down, scp up,
// restore under a new name, SIGUSR1, a relay into the copy's network namespace, first answer).
// Every copy, archive and snapshot is removed after each run.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { discardBenchCopy, startBallastApi } from './lib/containers';
import { fmtMs, fmtRange, type BenchContext, type Benchmark } from './lib/context';
import { median, rounds, type Contender, type Series } from './lib/harness';
import { inspectorVersion, openSshRelay, waitForInspector, type OpenSshRelay } from './lib/inspector';
import { q, scp, ssh } from './lib/openssh';
import { ratioText, verdict, type BenchResult, type Variant } from './lib/report';
import { scratchPackage } from './lib/scratch';
import { useLinkProfile } from './lib/link';

const heapMb = 512;
const target = 0.6;
/** Issue 15's target on the unshaped link (`lab:link off`). */
const targetOff = 1.0;

interface CliLine {
  snapshot: string;
  host: string;
  container: string;
  attach?: { address: string; port: number };
}

export interface OursPhases {
  prepare: number;
  checkpointAndSend: number;
  restore: number;
  attach: number;
  firstAnswer: number;
}

/** Runs `snapdebug debug`, resolves at the inspector's first answer; returns ms, phases and the copy. */
export async function oursOnce(ctx: BenchContext, cli: string, container: string, storeDir: string, extraArgs: string[] = []): Promise<{ ms: number; phases: OursPhases; copy: string | undefined }> {
  const started = performance.now();
  // The CLI's progress lines on stderr mark its phases (timestamped here as they arrive).
  const marks = new Map<string, number>();
  const phaseLines: Array<[string, RegExp]> = [
    ['checkpoint', /^Checkpointing /],
    ['restore', /^Restoring /],
    ['attach', /runs on .*; attaching/],
  ];
  const child = spawn('node', [cli, '--ssh-config', ctx.sshConfig, '--store', storeDir, '--json', 'debug', `prod/${container}`, '--to', 'debug', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = ctx.cleanup.add(`snapdebug debug (pid ${child.pid})`, () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderr = (stderr + text).slice(-4000);
    for (const line of text.split(/[\r\n]/)) {
      // stderr is a pipe, not a terminal: the CLI writes plain lines, no redrawn bar.
      for (const [name, pattern] of phaseLines) if (!marks.has(name) && pattern.test(line)) marks.set(name, performance.now());
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let copy: string | undefined;
  try {
    const line = await new Promise<CliLine>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (text) => {
        try {
          const parsed = JSON.parse(text) as CliLine;
          if (parsed.attach) resolve(parsed);
        } catch {
          // not the JSON line
        }
      });
      void exited.then((code) => reject(new Error(`snapdebug debug exited ${code} before attaching: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)));
    });
    copy = line.container;
    const attached = performance.now();
    await inspectorVersion(line.attach!.port);
    const done = performance.now();
    const at = (name: string) => marks.get(name) ?? NaN;
    const phases: OursPhases = {
      prepare: at('checkpoint') - started,
      checkpointAndSend: at('restore') - at('checkpoint'),
      restore: at('attach') - at('restore'),
      attach: attached - at('attach'),
      firstAnswer: done - attached,
    };
    return { ms: done - started, phases, copy };
  } finally {
    await stop(); // SIGTERM: the CLI closes its tunnel and exits; the copy stays until removed
    await exited;
  }
}

export interface ManualPhases {
  checkpoint: number;
  down: number;
  up: number;
  restore: number;
  signal: number;
  firstAnswer: number;
}

/** The seed's manual sequence with OpenSSH; returns ms per phase. */
export async function manualOnce(ctx: BenchContext, container: string, n: number): Promise<ManualPhases> {
  const archive = `/var/tmp/snapdebug-bench-${ctx.tag}-manual-${n}.tar.zst`;
  const local = join(ctx.tmp, `manual-${n}.tar.zst`);
  const copy = `snapdebug-bench-${ctx.tag}-manual-${n}`;
  const undo = [
    ctx.cleanup.add(`${archive} on prod`, () => ssh(ctx.sshConfig, 'prod', `rm -f ${q(archive)}`)),
    ctx.cleanup.add(`${archive} on debug`, () => ssh(ctx.sshConfig, 'debug', `rm -f ${q(archive)}`)),
    ctx.cleanup.add(`copy ${copy} on debug`, () => ssh(ctx.sshConfig, 'debug', `podman rm -f -t 0 ${q(copy)} >/dev/null 2>&1 || true`)),
    ctx.cleanup.add(local, () => rmSync(local, { force: true })),
    // podman keeps a leave-running checkpoint's images in the container's folder; the product
    // removes them, and so does this anchor (not timed), so runs never pile them up on prod.
    ctx.cleanup.add(`checkpoint images of ${container} on prod`, () =>
      ssh(ctx.sshConfig, 'prod', `d=$(podman inspect -f '{{.StaticDir}}' ${q(container)}) && rm -rf "$d/checkpoint" "$d/devshm-checkpoint.tar"`),
    ),
  ];
  const phases: Partial<ManualPhases> = {};
  let mark = performance.now();
  const lap = (name: keyof ManualPhases) => {
    const now = performance.now();
    phases[name] = now - mark;
    mark = now;
  };
  let relay: OpenSshRelay | undefined;
  try {
    await ssh(ctx.sshConfig, 'prod', `podman container checkpoint --leave-running -e ${q(archive)} ${q(container)}`);
    lap('checkpoint');
    await scp(ctx.sshConfig, `prod:${archive}`, local);
    lap('down');
    await scp(ctx.sshConfig, local, `debug:${archive}`);
    lap('up');
    relay = await manualRestoreAndAttach(ctx, archive, copy, lap);
    return phases as ManualPhases;
  } finally {
    await relay?.close();
    for (const step of undo.reverse()) await step();
  }
}

/**
 * How both manual sequences end on debug: `restore -i` under a new name, SIGUSR1 to the copy's
 * Node.js, a relay into its network namespace, the inspector's first answer. The caller closes
 * the relay it returns.
 */
export async function manualRestoreAndAttach(ctx: BenchContext, archive: string, copy: string, lap: (step: 'restore' | 'signal' | 'firstAnswer') => void): Promise<OpenSshRelay> {
  await ssh(ctx.sshConfig, 'debug', `podman container restore -i ${q(archive)} --name ${q(copy)} --ignore-static-ip --ignore-static-mac >/dev/null`);
  lap('restore');
  const pid = Number(await ssh(ctx.sshConfig, 'debug', `pid=$(podman inspect -f '{{.State.Pid}}' ${q(copy)}) && [ "$pid" -gt 1 ] && kill -USR1 "$pid" && echo "$pid"`));
  lap('signal');
  const relay = await openSshRelay(ctx.sshConfig, 'debug', pid, 9229);
  try {
    await waitForInspector(relay.port, 60_000);
  } catch (error) {
    await relay.close();
    throw error;
  }
  lap('firstAnswer');
  return relay;
}

export const debugBenchmark: Benchmark = {
  id: 'debug',
  title: `Snapshot to debugger attached, ${heapMb} MiB heap`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const build = await scratchPackage(ctx);
    // Unshaped, whatever the lab's link was (put back afterwards): loopback and the 2 cores are the limit.
    await useLinkProfile(ctx, 'off');
    const container = `snapdebug-bench-${ctx.tag}-api`;
    ctx.say(`starting ${container} on prod with a ${heapMb} MiB heap`);
    await startBallastApi(ctx, 'prod', container, heapMb);

    const manualPhases: ManualPhases[] = [];
    const oursPhases: OursPhases[] = [];
    let n = 0;
    const anchor: Contender = {
      label: 'manual sequence with OpenSSH (podman checkpoint -e, scp, scp, restore -i, kill -USR1, ssh nsenter relay)',
      run: async () => {
        const phases = await manualOnce(ctx, container, n++);
        manualPhases.push(phases);
        return Object.values(phases).reduce((sum, ms) => sum + ms, 0);
      },
    };
    const oursLabel = 'ours: snapdebug debug prod/CONTAINER --to debug (shipped CLI bundle)';
    const ours: Contender = {
      label: oursLabel,
      run: async () => {
        const storeDir = join(ctx.tmp, `store-${n++}`);
        mkdirSync(storeDir, { recursive: true });
        let copy: string | undefined;
        try {
          const result = await oursOnce(ctx, build.cli, container, storeDir);
          copy = result.copy;
          oursPhases.push(result.phases);
          return result.ms;
        } finally {
          rmSync(storeDir, { recursive: true, force: true });
          await discardBenchCopy(ctx, build.cli, container, copy);
        }
      },
    };
    const measured = await rounds(anchor, [ours], { runs: ctx.runs, warmup: ctx.warmup, say: ctx.say, signal: ctx.signal });
    const a = measured.anchor!;
    const o = measured.contenders.find((s) => s.label === oursLabel);
    const row = (s: Series): Variant => ({ label: s.label, median: fmtMs(s.median), range: fmtRange(s.min, s.max, fmtMs), ratio: s === a ? 'anchor' : ratioText(s.ratio) });
    const counted = manualPhases.slice(ctx.warmup);
    const phase = (k: keyof ManualPhases) => fmtMs(median(counted.map((p) => p[k])));
    const oursCounted = oursPhases.slice(ctx.warmup);
    const oursPhase = (k: keyof OursPhases) => fmtMs(median(oursCounted.map((p) => p[k])));
    return {
      id: 'debug',
      title: this.title,
      measuredAt: new Date().toISOString(),
      runs: ctx.runs,
      headlines: [
        {
          figure: 'snapshot → debugger answering (time)',
          ours: o ? fmtMs(o.median) : 'failed',
          anchor: `manual ${fmtMs(a.median)}`,
          ...(o?.ratio !== undefined && { ratio: o.ratio }),
          target: `<= ${target}x`,
          verdict: verdict(o?.ratio === undefined ? undefined : o.ratio <= target),
        },
        {
          figure: 'snapshot → debugger answering, unshaped link (issue 15)',
          ours: o ? fmtMs(o.median) : 'failed',
          anchor: `manual ${fmtMs(a.median)}`,
          ...(o?.ratio !== undefined && { ratio: o.ratio }),
          target: `<= ${targetOff}x`,
          verdict: verdict(o?.ratio === undefined ? undefined : o.ratio <= targetOff),
        },
      ],
      variantsCaption: 'Time from the first command to the inspector\'s first answer (ratio: time / manual\'s, per round, median).',
      variants: [row(a), ...measured.contenders.map(row), ...[...measured.failed].map(([label, error]) => ({ label, median: 'failed', range: '', note: error }))],
      notes: [
        `Manual sequence, median per step: checkpoint ${phase('checkpoint')}, scp prod → here ${phase('down')}, scp here → debug ${phase('up')}, restore ${phase('restore')}, PID + SIGUSR1 ${phase('signal')}, relay + first answer ${phase('firstAnswer')}.`,
        `Ours, median per phase (from its progress lines): connect, probe both hosts and plan ${oursPhase('prepare')}, checkpoint and debug's fetch from prod ${oursPhase('checkpointAndSend')}, restore ${oursPhase('restore')}, signal + wait for the inspector + tunnel ${oursPhase('attach')}, first answer through the tunnel ${oursPhase('firstAnswer')}.`,
        `Ours goes host to host (the default since issue 15): the debug host fetches podman's zstd archive from prod over their own link with a one-time key while podman writes it, unpacking it as it arrives, with the copy's relabelled head in place of the original's; the restore reads a plain tar, faster than the manual sequence's zstd archive. The store receives the snapshot from prod after the debugger answers (not timed here; the CLI waits for it before it exits). Everything runs on a machine whose ${cpus().length} cores also run both hosts.`,
      ],
    };
  },
};
