// Benchmark: snapshot → debugger answering where users are — this machine 100 Mbit/s and 40 ms
// from the hosts, the hosts 1 Gbit/s from each other (`lab:link wan`) — for a heap of random
// bytes and one of JSON-like objects (which compresses). Four contenders per round: the seed's
// manual sequence through this machine (the anchor), the manual host-to-host sequence (scp from
// prod to debug, run on prod, with a key made for it beforehand, untimed), ours through this
// machine (--through-here), and ours host to host (the default). The link is put back as it was afterwards.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { manualOnce, manualRestoreAndAttach, oursOnce, type ManualPhases, type OursPhases } from './debug';
import { demoApiImage, discardBenchCopy, startBallastApi } from './lib/containers';
import { fmtMs, fmtRange, type BenchContext, type Benchmark } from './lib/context';
import { median, rounds, type Contender, type Series } from './lib/harness';
import type { OpenSshRelay } from './lib/inspector';
import { q, ssh } from './lib/openssh';
import { ratioText, verdict, type BenchResult, type Variant } from './lib/report';
import { useLinkProfile } from './lib/link';
import { scratchPackage } from './lib/scratch';

const heapMb = 512;
/** The issue's targets on wan: ours host to host against each manual sequence. */
const targetThroughHere = 0.3;
const targetHostToHost = 0.8;
const wanClientBitsPerSecond = 100e6;

/** A Node.js service whose heap holds `mb` MiB of small objects (names, numbers, tags): compressible, as real heaps are. */
function jsonHeapScript(mb: number): string {
  return [
    "const http=require('http');const keep=[];let bytes=0;let i=0;",
    `while(bytes<${mb}*1048576){const o={id:i,name:'customer-'+i,email:'user'+i+'@example.com',tags:['a','b',String(i%97)],balance:i*3.5};keep.push(o);bytes+=160;i++;}`,
    "http.createServer((q,r)=>r.end(String(keep.length))).listen(8080,()=>console.log('listening'));",
  ].join('');
}

async function startJsonHeapApi(ctx: BenchContext, name: string, mb: number): Promise<void> {
  ctx.cleanup.add(`container ${name} on prod`, () => ssh(ctx.sshConfig, 'prod', `podman rm -f -t 0 ${q(name)} >/dev/null 2>&1 || true`));
  await ssh(ctx.sshConfig, 'prod', `podman run -d --name ${q(name)} ${demoApiImage} node --max-old-space-size=4096 -e ${q(jsonHeapScript(mb))} >/dev/null`);
  const deadline = Date.now() + 180_000;
  while (!(await ssh(ctx.sshConfig, 'prod', `podman logs ${q(name)} 2>&1`)).includes('listening')) {
    if (Date.now() > deadline) throw new Error(`${name} on prod did not start serving within 180 s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** A key on prod that debug's root accepts, and debug's host key on prod: what a person sets up once for scp between hosts. */
export async function hostToHostKey(ctx: BenchContext): Promise<{ key: string; knownHosts: string; debugName: string }> {
  const key = `/root/.ssh/snapdebug-bench-${ctx.tag}`;
  const knownHosts = `${key}.known_hosts`;
  const marker = `snapdebug-bench-${ctx.tag}`;
  ctx.cleanup.add('the bench key on prod', () => ssh(ctx.sshConfig, 'prod', `rm -f ${q(key)} ${q(`${key}.pub`)} ${q(knownHosts)}`));
  ctx.cleanup.add('the bench key in debug\'s authorized_keys', () => ssh(ctx.sshConfig, 'debug', `sed -i ${q(`/${marker}$/d`)} /root/.ssh/authorized_keys`));
  const debugName = (await ssh(ctx.sshConfig, 'debug', 'hostname')).trim();
  const pub = (await ssh(ctx.sshConfig, 'prod', `mkdir -p -m 700 /root/.ssh && ssh-keygen -q -t ed25519 -N '' -C ${q(marker)} -f ${q(key)} && cat ${q(`${key}.pub`)}`)).trim();
  await ssh(ctx.sshConfig, 'debug', `mkdir -p -m 700 /root/.ssh && printf '%s\\n' ${q(pub)} >> /root/.ssh/authorized_keys`);
  // debug's key as this machine knows it (never trust-on-first-use from prod), under debug's own name.
  const hostKey = (await ssh(ctx.sshConfig, 'debug', 'cat /etc/ssh/ssh_host_ed25519_key.pub')).trim().split(/\s+/).slice(0, 2).join(' ');
  await ssh(ctx.sshConfig, 'prod', `printf '%s %s\\n' ${q(debugName)} ${q(hostKey)} > ${q(knownHosts)}`);
  return { key, knownHosts, debugName };
}

interface HostToHostPhases {
  checkpoint: number;
  transfer: number;
  restore: number;
  signal: number;
  firstAnswer: number;
  archiveBytes: number;
}

/** The manual host-to-host sequence: checkpoint -e on prod, scp prod → debug (run on prod), restore -i, SIGUSR1, relay. */
async function manualHostToHostOnce(ctx: BenchContext, container: string, n: number, link: { key: string; knownHosts: string; debugName: string }): Promise<HostToHostPhases> {
  const archive = `/var/tmp/snapdebug-bench-${ctx.tag}-h2h-${n}.tar.zst`;
  const copy = `snapdebug-bench-${ctx.tag}-h2h-${n}`;
  const undo = [
    ctx.cleanup.add(`${archive} on prod`, () => ssh(ctx.sshConfig, 'prod', `rm -f ${q(archive)}`)),
    ctx.cleanup.add(`${archive} on debug`, () => ssh(ctx.sshConfig, 'debug', `rm -f ${q(archive)}`)),
    ctx.cleanup.add(`copy ${copy} on debug`, () => ssh(ctx.sshConfig, 'debug', `podman rm -f -t 0 ${q(copy)} >/dev/null 2>&1 || true`)),
    ctx.cleanup.add(`checkpoint images of ${container} on prod`, () =>
      ssh(ctx.sshConfig, 'prod', `d=$(podman inspect -f '{{.StaticDir}}' ${q(container)}) && rm -rf "$d/checkpoint" "$d/devshm-checkpoint.tar"`),
    ),
  ];
  const phases: Partial<HostToHostPhases> = {};
  let mark = performance.now();
  const lap = (name: Exclude<keyof HostToHostPhases, 'archiveBytes'>) => {
    const now = performance.now();
    phases[name] = now - mark;
    mark = now;
  };
  let relay: OpenSshRelay | undefined;
  try {
    phases.archiveBytes = Number(await ssh(ctx.sshConfig, 'prod', `podman container checkpoint --leave-running -e ${q(archive)} ${q(container)} >/dev/null && stat -c %s ${q(archive)}`));
    lap('checkpoint');
    await ssh(ctx.sshConfig, 'prod', `scp -q -i ${q(link.key)} -o UserKnownHostsFile=${q(link.knownHosts)} -o StrictHostKeyChecking=yes -o BatchMode=yes ${q(archive)} ${q(`root@${link.debugName}:${archive}`)}`);
    lap('transfer');
    relay = await manualRestoreAndAttach(ctx, archive, copy, lap);
    return phases as HostToHostPhases;
  } finally {
    await relay?.close();
    for (const step of undo.reverse()) await step();
  }
}

interface KindResult {
  kind: string;
  anchor: Series;
  contenders: Series[];
  failed: Map<string, string>;
  manual: ManualPhases[];
  manualH2h: HostToHostPhases[];
  ours: OursPhases[];
  oursH2h: OursPhases[];
}

const labels = {
  manual: 'manual through this machine (checkpoint -e, scp down, scp up, restore -i, SIGUSR1, relay)',
  manualH2h: 'manual host to host (checkpoint -e, scp prod → debug run on prod, restore -i, SIGUSR1, relay)',
  ours: 'ours through this machine: snapdebug debug prod/C --to debug --through-here',
  oursH2h: 'ours host to host: snapdebug debug prod/C --to debug',
};

async function measureKind(ctx: BenchContext, cli: string, kind: string, container: string, link: Awaited<ReturnType<typeof hostToHostKey>>): Promise<KindResult> {
  const result: KindResult = { kind, anchor: undefined as unknown as Series, contenders: [], failed: new Map(), manual: [], manualH2h: [], ours: [], oursH2h: [] };
  let n = 0;
  const ours = (hostToHost: boolean): Contender => ({
    label: hostToHost ? labels.oursH2h : labels.ours,
    run: async () => {
      const storeDir = join(ctx.tmp, `store-${kind}-${n++}`);
      mkdirSync(storeDir, { recursive: true });
      let copy: string | undefined;
      try {
        const once = await oursOnce(ctx, cli, container, storeDir, hostToHost ? [] : ['--through-here']);
        copy = once.copy;
        (hostToHost ? result.oursH2h : result.ours).push(once.phases);
        return once.ms;
      } finally {
        rmSync(storeDir, { recursive: true, force: true });
        await discardBenchCopy(ctx, cli, container, copy);
      }
    },
  });
  const anchor: Contender = {
    label: labels.manual,
    run: async () => {
      const phases = await manualOnce(ctx, container, n++);
      result.manual.push(phases);
      return Object.values(phases).reduce((sum, ms) => sum + ms, 0);
    },
  };
  const manualH2h: Contender = {
    label: labels.manualH2h,
    run: async () => {
      const phases = await manualHostToHostOnce(ctx, container, n++, link);
      result.manualH2h.push(phases);
      return phases.checkpoint + phases.transfer + phases.restore + phases.signal + phases.firstAnswer;
    },
  };
  const measured = await rounds(anchor, [manualH2h, ours(false), ours(true)], { runs: ctx.runs, warmup: ctx.warmup, say: ctx.say, signal: ctx.signal });
  result.anchor = measured.anchor!;
  result.contenders = measured.contenders;
  result.failed = measured.failed;
  return result;
}

export const debugWanBenchmark: Benchmark = {
  id: 'debug-wan',
  title: `Snapshot to debugger attached on a wan link, ${heapMb} MiB heap (random and JSON objects), host to host`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const build = await scratchPackage(ctx);
    await useLinkProfile(ctx, 'wan');
    const link = await hostToHostKey(ctx);

    const results: KindResult[] = [];
    for (const kind of ['random', 'json'] as const) {
      const container = `snapdebug-bench-${ctx.tag}-${kind}`;
      ctx.say(`starting ${container} on prod with a ${heapMb} MiB ${kind} heap`);
      if (kind === 'random') await startBallastApi(ctx, 'prod', container, heapMb);
      else await startJsonHeapApi(ctx, container, heapMb);
      results.push(await measureKind(ctx, build.cli, kind, container, link));
      await ssh(ctx.sshConfig, 'prod', `podman rm -f -t 0 ${q(container)} >/dev/null 2>&1 || true`);
    }

    const warm = <T>(list: T[]) => list.slice(ctx.warmup);
    const med = <T>(list: T[], pick: (x: T) => number) => median(warm(list).map(pick));
    const headlines = results.flatMap((r) => {
      const h2h = r.contenders.find((s) => s.label === labels.oursH2h);
      const manualH2h = r.contenders.find((s) => s.label === labels.manualH2h);
      const vsH2h = h2h && manualH2h ? median(h2h.values.map((v, i) => v / manualH2h.values[i]!)) : undefined;
      return [
        {
          figure: `${r.kind} heap: ours host to host vs manual through this machine`,
          ours: h2h ? fmtMs(h2h.median) : 'failed',
          anchor: `manual ${fmtMs(r.anchor.median)}`,
          ...(h2h?.ratio !== undefined && { ratio: h2h.ratio }),
          target: `<= ${targetThroughHere}x`,
          verdict: verdict(h2h?.ratio === undefined ? undefined : h2h.ratio <= targetThroughHere),
        },
        {
          figure: `${r.kind} heap: ours host to host vs manual host to host`,
          ours: h2h ? fmtMs(h2h.median) : 'failed',
          anchor: `manual host to host ${manualH2h ? fmtMs(manualH2h.median) : 'failed'}`,
          ...(vsH2h !== undefined && { ratio: vsH2h }),
          target: `<= ${targetHostToHost}x`,
          verdict: verdict(vsH2h === undefined ? undefined : vsH2h <= targetHostToHost),
        },
      ];
    });
    const variants: Variant[] = results.flatMap((r) => [
      ...[r.anchor, ...r.contenders].map((s) => ({ label: `${r.kind}: ${s.label}`, median: fmtMs(s.median), range: fmtRange(s.min, s.max, fmtMs), ratio: s === r.anchor ? 'anchor' : ratioText(s.ratio) })),
      ...[...r.failed].map(([label, error]) => ({ label: `${r.kind}: ${label}`, median: 'failed', range: '', note: error })),
    ]);
    const notes = results.flatMap((r) => {
      const bytes = med(r.manualH2h, (p) => p.archiveBytes);
      const limit = (bytes * 8) / wanClientBitsPerSecond;
      const manual = (k: keyof ManualPhases) => fmtMs(med(r.manual, (p) => p[k]));
      const h2h = (k: keyof HostToHostPhases) => fmtMs(med(r.manualH2h, (p) => p[k]));
      const ours = (list: OursPhases[], k: keyof OursPhases) => fmtMs(med(list, (p) => p[k]));
      return [
        `${r.kind} heap: podman's zstd archive ${(bytes / 1048576).toFixed(0)} MiB; one crossing of the 100 Mbit/s link takes at least ${limit.toFixed(1)} s (bytes ÷ rate), the manual sequence through this machine crosses it twice.`,
        `${r.kind}, manual through this machine, median per step: checkpoint ${manual('checkpoint')}, scp down ${manual('down')}, scp up ${manual('up')}, restore ${manual('restore')}, signal ${manual('signal')}, relay + first answer ${manual('firstAnswer')}.`,
        `${r.kind}, manual host to host: checkpoint ${h2h('checkpoint')}, scp prod → debug ${h2h('transfer')}, restore ${h2h('restore')}, signal ${h2h('signal')}, relay + first answer ${h2h('firstAnswer')}.`,
        `${r.kind}, ours through this machine: prepare ${ours(r.ours, 'prepare')}, checkpoint + send ${ours(r.ours, 'checkpointAndSend')}, restore ${ours(r.ours, 'restore')}, attach ${ours(r.ours, 'attach')}, first answer ${ours(r.ours, 'firstAnswer')}; host to host: prepare ${ours(r.oursH2h, 'prepare')}, checkpoint + fetch ${ours(r.oursH2h, 'checkpointAndSend')}, restore ${ours(r.oursH2h, 'restore')}, attach ${ours(r.oursH2h, 'attach')}, first answer ${ours(r.oursH2h, 'firstAnswer')}.`,
      ];
    });
    return {
      id: 'debug-wan',
      title: this.title,
      measuredAt: new Date().toISOString(),
      runs: ctx.runs,
      headlines,
      variantsCaption: 'Time from the first command to the inspector\'s first answer on `lab:link wan` (ratio: time / manual through this machine, per round, median).',
      variants,
      notes: [
        'wan: this machine ↔ each host 100 Mbit/s each way with 40 ms round trip (the relay carrying each host\'s sshd); host ↔ host 1 Gbit/s (tbf on the lab link). The manual host-to-host sequence needs a key on prod that debug accepts: made before the rounds, untimed, removed after (ours needs none lasting: a one-time key, forced command, removed in every outcome).',
        ...notes,
        'Where the time goes, host to host: its preparation (connecting, probing both hosts, planning the copy and its fence, probing the route, before production is touched) in two waves of round trips over the 40 ms link, where the manual sequences count no typing; then the checkpoint, with the fetch following podman\'s export from its first bytes (CRIU\'s dump, about 0.5 s, comes first), so the hosts\' link, not the checkpoint, bounds that phase (random: 514 MiB at 1 Gbit/s is at least 4.3 s); then the restore, faster than the manual sequence\'s because the copy\'s archive lands as a plain tar; the debugger\'s attach and tunnel (its connection logged in during the restore).',
      ],
    };
  },
};
