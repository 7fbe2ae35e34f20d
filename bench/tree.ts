// Benchmark 4: refreshing the Hosts view with 10 hosts × 50 containers. Ours: every host's
// `podman ps --all` in parallel over pooled connections, as src/extension/tree/hostsTree.ts
// fetches, cold (a fresh core: connections opened) and warm (the same core again). The anchor: a
// person's loop, `ssh HOST podman ps --all --format json` one host after another. Eight extra
// hosts come from lab/benchHosts.ts; prod and debug get 50 containers of ours, removed after.
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { startBenchHosts, stopBenchHosts } from '../lab/benchHosts';
import type { ListResult } from './child/listTasks';
import { runChild } from './lib/child';
import { fmtMs, fmtRange, type BenchContext, type Benchmark } from './lib/context';
import { median, rounds, since, type Contender, type Series } from './lib/harness';
import { ssh } from './lib/openssh';
import { ratioText, verdict, type BenchResult, type Variant } from './lib/report';

const extraHosts = 8;
const perHost = 50;
const coldTarget = 0.2;
const warmTargetMs = 200;
const listCommand = 'podman ps --all --format json';

export const treeBenchmark: Benchmark = {
  id: 'tree',
  title: `Tree refresh, ${extraHosts + 2} hosts × ${perHost} containers`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const dir = join(ctx.tmp, 'hosts');
    ctx.say(`starting ${extraHosts} extra hosts`);
    // startBenchHosts stops what it started if it fails part-way; after that, cleanup does.
    const bench = await startBenchHosts(extraHosts, dir, ctx.say);
    ctx.cleanup.add(`bench hosts ${bench.started.map((h) => h.name).join(', ')}`, () => stopBenchHosts(bench));
    const config = bench.sshConfig;

    const prefix = `snapdebug-bench-${ctx.tag}-c`;
    for (const host of ['prod', 'debug']) {
      ctx.cleanup.add(`${perHost} containers on ${host}`, () =>
        ssh(config, host, `podman ps --all --format '{{.Names}}' | grep '^${prefix}' | xargs -r podman rm -f -t 0 >/dev/null`),
      );
    }
    ctx.say(`running ${perHost} containers on each of ${bench.names.length} hosts`);
    await Promise.all(
      bench.names.map((host) =>
        ssh(config, host, `for i in $(seq 1 ${perHost}); do podman run -d --network none --name ${prefix}$i localhost/snapdebug/busybox:latest sleep 100000 >/dev/null || exit 1; done`, {
          timeoutMs: 900_000,
        }),
      ),
    );

    const countOf = (json: string) => (JSON.parse(json) as unknown[]).length;
    const sequential = async (args: string[] = []) => {
      const started = performance.now();
      let containers = 0;
      for (const host of bench.names) containers += countOf(await ssh(config, host, listCommand, { args }));
      const ms = since(started);
      if (containers < bench.names.length * perHost) throw new Error(`listed ${containers} containers`);
      return ms;
    };
    // OpenSSH's own connection reuse, for a fair "warm" comparison: masters opened in the warm-up.
    const controlDir = join(ctx.tmp, 'cm');
    mkdirSync(controlDir, { recursive: true, mode: 0o700 });
    const multiplexed = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${controlDir}/%h-%p`, '-o', 'ControlPersist=600'];
    ctx.cleanup.add('OpenSSH control masters', () => Promise.all(bench.names.map((host) => ssh(config, host, 'true', { args: [...multiplexed, '-O', 'exit'] }).catch(() => undefined))));

    const warm: number[] = [];
    const oneHost: number[] = [];
    let round = 0;
    const anchor: Contender = { label: `sequential \`ssh HOST ${listCommand}\`, one host after another`, run: () => sequential() };
    const oursLabel = 'ours: parallel pooled listing, cold (fresh core, connections opened)';
    const contenders: Contender[] = [
      {
        label: oursLabel,
        run: async () => {
          const result = await runChild<ListResult>({ kind: 'list', sshConfig: config, hosts: bench.names, warmRepeats: 3 }, { signal: ctx.signal });
          if (result.containers < bench.names.length * perHost) throw new Error(`listed ${result.containers} containers`);
          if (round++ >= ctx.warmup) {
            warm.push(...result.warmMs);
            oneHost.push(...result.oneHostWarmMs);
          }
          return result.coldMs;
        },
      },
      {
        label: 'OpenSSH, all hosts in parallel (fresh connections)',
        run: async () => {
          const started = performance.now();
          await Promise.all(bench.names.map((host) => ssh(config, host, listCommand)));
          return since(started);
        },
      },
      { label: 'OpenSSH sequential over open ControlMaster connections', run: () => sequential(multiplexed) },
    ];
    const measured = await rounds(anchor, contenders, { runs: ctx.runs, warmup: ctx.warmup, say: ctx.say, signal: ctx.signal });
    const a = measured.anchor!;
    const cold = measured.contenders.find((s) => s.label === oursLabel);
    const warmMedian = warm.length > 0 ? median(warm) : undefined;
    const row = (s: Series): Variant => ({ label: s.label, median: fmtMs(s.median), range: fmtRange(s.min, s.max, fmtMs), ratio: s === a ? 'anchor' : ratioText(s.ratio) });
    const variants = [row(a), ...measured.contenders.map(row)];
    if (warmMedian !== undefined) {
      variants.splice(2, 0, {
        label: 'ours: parallel pooled listing, warm (connections already open)',
        median: fmtMs(warmMedian),
        range: fmtRange(Math.min(...warm), Math.max(...warm), fmtMs),
        ratio: ratioText(warmMedian / a.median),
        note: `${warm.length} listings, 3 per measured run`,
      });
      variants.splice(3, 0, {
        label: `ours: one host (${bench.names[0]}) alone, warm`,
        median: fmtMs(median(oneHost)),
        range: fmtRange(Math.min(...oneHost), Math.max(...oneHost), fmtMs),
        ratio: '',
        note: 'the same podman ps, the other hosts idle meanwhile',
      });
    }
    return {
      id: 'tree',
      title: this.title,
      measuredAt: new Date().toISOString(),
      runs: ctx.runs,
      headlines: [
        {
          figure: 'refresh, cold',
          ours: cold ? fmtMs(cold.median) : 'failed',
          anchor: `ssh loop ${fmtMs(a.median)}`,
          ...(cold?.ratio !== undefined && { ratio: cold.ratio }),
          target: `<= ${coldTarget}x`,
          verdict: verdict(cold?.ratio === undefined ? undefined : cold.ratio <= coldTarget),
        },
        {
          figure: 'refresh, warm',
          ours: warmMedian !== undefined ? fmtMs(warmMedian) : 'failed',
          anchor: `ssh loop ${fmtMs(a.median)}`,
          ...(warmMedian !== undefined && { ratio: warmMedian / a.median }),
          target: `<= ${warmTargetMs} ms`,
          verdict: verdict(warmMedian === undefined ? undefined : warmMedian <= warmTargetMs),
        },
      ],
      variantsCaption: 'Time to list every container of every host (ratio: time / the sequential ssh loop\'s, per round, median; warm: against the median loop).',
      variants: [...variants, ...[...measured.failed].map(([label, error]) => ({ label, median: 'failed', range: '', note: error }))],
      notes: [
        `${bench.names.length} hosts (prod, debug and ${extraHosts} extra lab hosts sharing the cached root through overlayfs), each with ${perHost} running busybox containers (--network none) of ours; prod and debug also keep their own.`,
        `Every host runs on this ${cpus().length}-core machine, so ten \`podman ps\` processes (each tens of milliseconds of CPU) and ten sshd logins compete for its cores with the client: a parallel refresh here is bound by the machine's CPU, not by the network or by waiting. With real hosts, each with its own CPU, a warm refresh takes about as long as the slowest host answers (one host alone: see above).`,
      ],
    };
  },
};
