// Faults (issue 11): for each phase of checkpoint, pull, push, restore, migrate and Snapshot &
// Debug, a real fault — the client SIGKILLed, its link cut (packets dropped, nobody hears a thing),
// the link between the hosts cut while the debug host fetches from prod (host to host), the
// target's temp folder full (a small tmpfs), CRIU failing on restore — and then, every time:
// production runs with the same PID and answers; `podman ps` answers in under 10 s on every host
// within 30 s of the fault; no work folder, checkpoint image, half-made copy or volume is left on
// any host, nor a fenced copy's network or rules, nor a one-time fetch key in authorized_keys; no .part in the store after the next start; a migration leaves exactly one running
// container; the error (when the client lived to say it) names the phase and what was cleaned.
// The table of faults × phases is printed and kept in test-results/reliability.md.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cutLink, hostShell, mendLink } from '../../lab/links';
import { hostLinkName, inNetns } from '../../lab/network';
import { readState } from '../../lab/state';
import { answers, containerPidOn, containerState, isClean, leftoversOn, partFiles, podmanPsSeconds, startCli, type CliRun, type HostLeftovers } from './faultKit';
import { removeOrphanFences, waitFor } from './helpers';

type Fault = 'client killed' | 'link cut' | 'host link cut' | 'temp folder full' | 'CRIU fails on restore';

interface Case {
  workflow: string;
  phase: string;
  fault: Fault;
  args: () => string[];
  /** The progress line that says the phase has begun (when the fault strikes mid-phase). */
  at?: RegExp;
  /** For a cut: whose link (to this machine; for 'host link cut', to the other hosts). */
  cut?: 'prod' | 'debug';
  /** Names of what the case may create and must not leave (containers, volumes). */
  names: string;
  /** A migration: which container must end up running exactly once. */
  migrates?: boolean;
}

interface Row {
  workflow: string;
  phase: string;
  fault: Fault;
  outcome: string;
  ok: boolean;
}

const api = 'faults-api';
const mig = 'faults-mig';
const fullTmp = '/var/tmp/sdfull';
const ttlAndCleanupMs = 30_000;

/** Takes a host off the lab's link between hosts (or back): the host-to-host fetch stalls, nobody hears a thing. */
async function hostLink(host: string, state: 'down' | 'up'): Promise<void> {
  const pid = readState()?.hosts.find((h) => h.name === host)?.init.pid;
  if (!pid) throw new Error(`lab host ${host} is not running`);
  await inNetns(pid, 'ip', ['link', 'set', hostLinkName, state]);
}

describe('faults (lab): production survives every fault, and nothing is left on any host', function () {
  this.timeout(15 * 60_000);
  const store = mkdtempSync(join(tmpdir(), 'snapdebug-faults-'));
  const rows: Row[] = [];
  let snapshot = '';
  let apiPid = 0;

  async function runMig(): Promise<void> {
    await hostShell('debug', `podman rm -f -t 0 ${mig} >/dev/null 2>&1; true`);
    await hostShell('prod', `podman rm -f -t 0 ${mig} >/dev/null 2>&1; podman run -d --name ${mig} -e BALLAST_MB=48 localhost/snapdebug/demo-api:latest >/dev/null`);
  }

  before(async () => {
    await hostShell('prod', `podman rm -f -t 0 ${api} >/dev/null 2>&1; podman run -d --name ${api} -e BALLAST_MB=160 localhost/snapdebug/demo-api:latest >/dev/null`);
    await waitFor(() => answers('prod', api), 60_000, `${api} serving`);
    apiPid = await containerPidOn('prod', api);
    await runMig();
    // Fences other files' copies left when removed by hand are the next sweep's, not a case's.
    await hostShell('debug', removeOrphanFences);
    // So is what earlier runs left (a copy removed by hand leaves its kept folder): a doctor run
    // opens a session on both hosts, and each session sweeps first.
    await startCli(store, ['doctor', 'prod', '--peer', 'debug']).exited;
    const taken = await startCli(store, ['--json', 'checkpoint', `prod/${api}`]).exited;
    assert.equal(taken.code, 0, taken.stderr);
    snapshot = (JSON.parse(taken.stdout) as { id: string }).id;
    // A full temp folder on debug: a 256 KiB tmpfs; on prod the same path is a plain folder.
    await hostShell('prod', `mkdir -p -m 1777 ${fullTmp}`);
    await hostShell('debug', `mkdir -p ${fullTmp} && (mountpoint -q ${fullTmp} || mount -t tmpfs -o size=256k,mode=1777 tmpfs ${fullTmp})`);
    // CRIU refusing every restore on debug: an action script that fails before restoring.
    await hostShell('debug', `printf '#!/bin/sh\\n[ "$CRTOOLS_SCRIPT_ACTION" = pre-restore ] && exit 1\\nexit 0\\n' > /usr/local/sbin/snapdebug-fault && chmod 755 /usr/local/sbin/snapdebug-fault`);
  });

  after(async () => {
    const table = [
      '| workflow | phase | fault | outcome |',
      '|---|---|---|---|',
      ...rows.map((r) => `| ${r.workflow} | ${r.phase} | ${r.fault} | ${r.ok ? '' : 'FAILED: '}${r.outcome} |`),
    ].join('\n');
    console.log(`\n${table}\n`);
    const results = resolve(import.meta.dirname, '..', '..', 'test-results');
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, 'reliability.md'), `# Faults × phases (${new Date().toISOString()})\n\n${table}\n`);
    await mendLink('prod');
    await mendLink('debug');
    await hostShell('debug', `umount ${fullTmp} 2>/dev/null; rm -rf ${fullTmp} /usr/local/sbin/snapdebug-fault; sed -i '/snapdebug-fault/d' /etc/criu/runc.conf; podman rm -f -t 0 ${mig} >/dev/null 2>&1; true`);
    await hostShell('prod', `rm -rf ${fullTmp}; podman rm -f -t 0 ${api} ${mig} >/dev/null 2>&1; true`);
    rmSync(store, { recursive: true, force: true });
  });

  const copyNames = `^(${api}-snap-|${api}-copy|faults-r-)`;
  const cases: Case[] = [
    // checkpoint: the stream, CRIU dumping and bytes flowing
    { workflow: 'checkpoint', phase: 'checkpoint (CRIU dumping)', fault: 'client killed', args: () => ['checkpoint', `prod/${api}`], at: /Checkpointing faults-api/, names: copyNames },
    { workflow: 'checkpoint', phase: 'stream to the store', fault: 'client killed', args: () => ['checkpoint', `prod/${api}`], at: /Receiving checkpoint/, names: copyNames },
    { workflow: 'checkpoint', phase: 'stream to the store', fault: 'link cut', args: () => ['checkpoint', `prod/${api}`], at: /Receiving checkpoint/, cut: 'prod', names: copyNames },
    // pull: the file transport's archive on prod, pulled in ranges
    { workflow: 'pull', phase: 'pull', fault: 'client killed', args: () => ['--transport', 'file', 'checkpoint', `prod/${api}`], at: /Receiving checkpoint/, names: copyNames },
    { workflow: 'pull', phase: 'pull', fault: 'link cut', args: () => ['--transport', 'file', 'checkpoint', `prod/${api}`], at: /Receiving checkpoint/, cut: 'prod', names: copyNames },
    // push
    { workflow: 'push', phase: 'send', fault: 'client killed', args: () => ['push', snapshot, '--to', 'debug'], at: /Sending/, names: copyNames },
    { workflow: 'push', phase: 'send', fault: 'link cut', args: () => ['push', snapshot, '--to', 'debug'], at: /Sending/, cut: 'debug', names: copyNames },
    { workflow: 'push', phase: 'send', fault: 'temp folder full', args: () => ['push', snapshot, '--to', 'debug'], names: copyNames },
    // restore
    { workflow: 'restore', phase: 'send', fault: 'client killed', args: () => ['restore', snapshot, '--to', 'debug', '--name', 'faults-r-1'], at: /Sending/, names: copyNames },
    { workflow: 'restore', phase: 'restore', fault: 'client killed', args: () => ['restore', snapshot, '--to', 'debug', '--name', 'faults-r-2'], at: /Restoring faults-r-2/, names: copyNames },
    { workflow: 'restore', phase: 'restore', fault: 'link cut', args: () => ['restore', snapshot, '--to', 'debug', '--name', 'faults-r-3'], at: /Restoring faults-r-3/, cut: 'debug', names: copyNames },
    { workflow: 'restore', phase: 'send', fault: 'temp folder full', args: () => ['restore', snapshot, '--to', 'debug', '--name', 'faults-r-4'], names: copyNames },
    { workflow: 'restore', phase: 'restore', fault: 'CRIU fails on restore', args: () => ['restore', snapshot, '--to', 'debug', '--name', 'faults-r-5'], names: copyNames },
    // migrate through this machine (its own container: after every case it must run exactly once)
    { workflow: 'migrate through here', phase: 'checkpoint', fault: 'client killed', args: () => ['migrate', `prod/${mig}`, '--to', 'debug', '--through-here'], at: /Checkpointing faults-mig/, names: '^$', migrates: true },
    { workflow: 'migrate through here', phase: 'send', fault: 'client killed', args: () => ['migrate', `prod/${mig}`, '--to', 'debug', '--through-here'], at: /Sending/, names: '^$', migrates: true },
    { workflow: 'migrate through here', phase: 'restore', fault: 'client killed', args: () => ['migrate', `prod/${mig}`, '--to', 'debug', '--through-here'], at: /Restoring faults-mig/, names: '^$', migrates: true },
    { workflow: 'migrate through here', phase: 'send', fault: 'link cut', args: () => ['migrate', `prod/${mig}`, '--to', 'debug', '--through-here'], at: /Sending/, cut: 'debug', names: '^$', migrates: true },
    { workflow: 'migrate through here', phase: 'send', fault: 'temp folder full', args: () => ['migrate', `prod/${mig}`, '--to', 'debug', '--through-here'], names: '^$', migrates: true },
    { workflow: 'migrate through here', phase: 'restore', fault: 'CRIU fails on restore', args: () => ['migrate', `prod/${mig}`, '--to', 'debug', '--through-here'], names: '^$', migrates: true },
    // Snapshot & Debug through this machine: one pass to the store and the debug host, then restore, then attach
    { workflow: 'Snapshot & Debug through here', phase: 'checkpoint + transfer', fault: 'client killed', args: () => ['debug', `prod/${api}`, '--to', 'debug', '--through-here'], at: /Receiving checkpoint/, names: copyNames },
    { workflow: 'Snapshot & Debug through here', phase: 'restore', fault: 'client killed', args: () => ['debug', `prod/${api}`, '--to', 'debug', '--through-here'], at: /Restoring faults-api-snap/, names: copyNames },
    { workflow: 'Snapshot & Debug through here', phase: 'attach', fault: 'client killed', args: () => ['debug', `prod/${api}`, '--to', 'debug', '--through-here'], at: /attaching/i, names: copyNames },
    { workflow: 'Snapshot & Debug through here', phase: 'checkpoint + transfer', fault: 'link cut', args: () => ['debug', `prod/${api}`, '--to', 'debug', '--through-here'], at: /Receiving checkpoint/, cut: 'debug', names: copyNames },
    { workflow: 'Snapshot & Debug through here', phase: 'checkpoint + transfer', fault: 'temp folder full', args: () => ['debug', `prod/${api}`, '--to', 'debug', '--through-here'], names: copyNames },
    { workflow: 'Snapshot & Debug through here', phase: 'restore', fault: 'CRIU fails on restore', args: () => ['debug', `prod/${api}`, '--to', 'debug', '--through-here'], names: copyNames },
    // Snapshot & Debug host to host: the debug host fetching from prod with a one-time key
    { workflow: 'Snapshot & Debug host to host', phase: 'fetch', fault: 'client killed', args: () => ['debug', `prod/${api}`, '--to', 'debug'], at: /fetches the archive from prod directly/, names: copyNames },
    { workflow: 'Snapshot & Debug host to host', phase: 'fetch', fault: 'host link cut', args: () => ['debug', `prod/${api}`, '--to', 'debug'], at: /fetches the archive from prod directly/, cut: 'prod', names: copyNames },
    { workflow: 'Snapshot & Debug host to host', phase: 'restore', fault: 'CRIU fails on restore', args: () => ['debug', `prod/${api}`, '--to', 'debug'], names: copyNames },
    // checkpoint --push-to host to host: debug fetches the archive to keep it; the store pulls it from prod next
    { workflow: 'checkpoint --push-to host to host', phase: 'fetch', fault: 'client killed', args: () => ['checkpoint', `prod/${api}`, '--push-to', 'debug'], at: /fetches the archive from prod directly/, names: '^$' },
    { workflow: 'checkpoint --push-to host to host', phase: 'fetch', fault: 'host link cut', args: () => ['checkpoint', `prod/${api}`, '--push-to', 'debug'], at: /fetches the archive from prod directly/, cut: 'prod', names: '^$' },
    { workflow: 'checkpoint --push-to host to host', phase: 'store', fault: 'client killed', args: () => ['checkpoint', `prod/${api}`, '--push-to', 'debug'], at: /Storing faults-api-/, names: '^$' },
    // migrate host to host (the default): debug fetches the stopped source's archive from prod
    { workflow: 'migrate host to host', phase: 'fetch', fault: 'client killed', args: () => ['migrate', `prod/${mig}`, '--to', 'debug'], at: /fetches the archive from prod directly/, names: '^$', migrates: true },
    { workflow: 'migrate host to host', phase: 'fetch', fault: 'host link cut', args: () => ['migrate', `prod/${mig}`, '--to', 'debug'], at: /fetches the archive from prod directly/, cut: 'prod', names: '^$', migrates: true },
    { workflow: 'migrate host to host', phase: 'restore', fault: 'CRIU fails on restore', args: () => ['migrate', `prod/${mig}`, '--to', 'debug'], names: '^$', migrates: true },
  ];

  for (const c of cases) {
    it(`${c.workflow}, ${c.phase}: ${c.fault}`, async () => {
      if (c.migrates) await runMig();
      if (c.fault === 'CRIU fails on restore') await hostShell('debug', `echo 'action-script /usr/local/sbin/snapdebug-fault' >> /etc/criu/runc.conf`);
      const row: Row = { workflow: c.workflow, phase: c.phase, fault: c.fault, outcome: '', ok: false };
      rows.push(row);
      let run: CliRun | undefined;
      let struckAt = Date.now();
      try {
        run = startCli(store, c.args(), c.fault === 'temp folder full' ? fullTmp : undefined);
        if (c.at) await run.reached(c.at);
        struckAt = Date.now();
        if (c.fault === 'client killed') run.child.kill('SIGKILL');
        if (c.fault === 'link cut') await cutLink(c.cut!);
        if (c.fault === 'host link cut') await hostLink(c.cut!, 'down');
        // The hosts are watched from the moment of the fault, while the client may still be
        // trying (a cut link leaves it waiting for its keepalives; it gives up on its own).
        const deadline = struckAt + ttlAndCleanupMs;
        let left: Record<string, HostLeftovers> = {};
        const cleaned = waitFor(
          async () => {
            left = { prod: await leftoversOn('prod', c.names), debug: await leftoversOn('debug', c.names) };
            return isClean(left.prod!) && isClean(left.debug!);
          },
          Math.max(1000, deadline - Date.now()),
          'the hosts to be clean',
        ).then(
          () => ((Date.now() - struckAt) / 1000).toFixed(1),
          () => assert.fail(`left after ${ttlAndCleanupMs / 1000} s: ${JSON.stringify(left)}`),
        );
        const cleanAfter = await cleaned;
        for (const host of ['prod', 'debug']) assert.ok((await podmanPsSeconds(host)) < 10, `podman ps answers on ${host}`);
        const ended = await run.exited;
        if (c.fault !== 'client killed') {
          assert.notEqual(ended.code, 0, `the workflow cannot have succeeded: ${ended.stderr}`);
          assert.match(ended.stderr, /failed during [a-z -]+; cleaned up|cancelled during/, `the error names the phase and the cleanup:\n${ended.stderr}`);
        }
        row.outcome = c.fault === 'client killed' ? 'killed' : (ended.stderr.split('\n').find((l) => l.startsWith('snapdebug')) ?? '').slice(0, 160);

        // Production: the same process, still serving.
        assert.equal(await containerPidOn('prod', api), apiPid, 'production keeps its PID');
        assert.ok(await answers('prod', api), 'production answers');
        if (c.migrates) {
          const states = [await containerState('prod', mig), await containerState('debug', mig)];
          assert.equal(states.filter((s) => s === 'running').length, 1, `exactly one ${mig} runs: prod ${states[0]}, debug ${states[1]}`);
        }
        // The next start of snapdebug finds no .part in the store.
        await startCli(store, ['snapshots']).exited;
        assert.deepEqual(partFiles(store), []);
        row.outcome = `${row.outcome ? `${row.outcome}; ` : ''}hosts clean ${cleanAfter} s after the fault`;
        row.ok = true;
      } catch (error) {
        row.outcome = (error as Error).message.split('\n')[0]!.slice(0, 200);
        throw error;
      } finally {
        run?.child.kill('SIGKILL');
        if (c.cut) await (c.fault === 'host link cut' ? hostLink(c.cut, 'up') : mendLink(c.cut));
        if (c.fault === 'CRIU fails on restore') await hostShell('debug', `sed -i '/snapdebug-fault/d' /etc/criu/runc.conf`);
        await hostShell('debug', `podman ps -a --format '{{.Names}}' | grep -E '${copyNames}' | xargs -r podman rm -f -t 0 >/dev/null 2>&1; true`);
        // A copy that outlived its case (its work had finished) was fenced: its fence goes with it here.
        await hostShell('debug', removeOrphanFences);
      }
    });
  }
});
