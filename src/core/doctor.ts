// doctor: can this host take and restore checkpoints, and can a peer restore what it takes?
// Every check says what it found, and every failure says how to fix it.
import type { Core } from './core';
import type { Host } from './host';
import { debugTools, runtimeName, whichOnHost } from './debug/requirements';
import { requireCgroupVersion, restoringRuntime } from './snapshot/runtime';
import { podmanClosesConnections } from './snapshot/tcpClose';
import { hostInventory } from './remote/inventory';
import { describeUndone } from './remote/failure';
import type { RemoteWork } from './remote/work';
import { prelude } from './remote/shellLib';
import { freeBytes } from './snapshot/transfer';
import { probeSourceLink } from './snapshot/hostLink';
import { describeError, SnapdebugError, type Fix } from './util/errors';
import { formatBytes } from './util/format';
import { versionAtLeast } from './util/version';
import { fenceSupport, hasRouteOptions } from './fence/fence';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  level: CheckLevel;
  detail: string;
  fix?: Fix;
}

export interface DoctorReport {
  host: string;
  peer?: string;
  checks: DoctorCheck[];
  ok: boolean;
}

const minimumPodmanMajor = 4;
const minimumCriu = [3, 11];
const lowSpaceBytes = 2 * 1024 ** 3;

export { versionAtLeast };

async function check(name: string, body: () => Promise<Omit<DoctorCheck, 'name'>>): Promise<DoctorCheck> {
  try {
    return { name, ...(await body()) };
  } catch (error) {
    return { name, level: 'fail', detail: describeError(error).split('\n')[0]! };
  }
}

async function hostChecks(core: Core, host: Host): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const connect = await check('ssh', async () => {
    await host.runner.run(['true']);
    return { level: 'ok', detail: `connected to ${host.name}` };
  });
  checks.push(connect);
  if (connect.level === 'fail') return checks;

  const caps = await host.capabilities().catch((error: unknown) => error as Error);
  if (caps instanceof Error) {
    const own = caps instanceof SnapdebugError ? caps.fix : undefined;
    checks.push({ name: 'podman', level: 'fail', detail: describeError(caps).split('\n')[0]!, fix: own ?? { text: `Install podman ${minimumPodmanMajor}+ on ${host.name}${host.options.sudo ? '' : ', or run it through sudo'}.`, ...(!host.options.sudo && { options: [{ name: 'sudo' }] }) } });
    return checks;
  }
  const major = Number(caps.podmanVersion.split('.')[0]);
  checks.push({
    name: 'podman',
    level: major >= minimumPodmanMajor ? 'ok' : 'fail',
    detail: `podman ${caps.podmanVersion}`,
    ...(major < minimumPodmanMajor && { fix: { text: `Upgrade podman to ${minimumPodmanMajor} or newer.` } }),
  });
  const rootless = caps.info.host.security.rootless;
  checks.push({
    name: 'rootful',
    level: rootless ? 'fail' : 'ok',
    detail: rootless ? 'podman runs rootless' : `rootful${host.options.sudo ? ' (through sudo -n)' : ''}`,
    ...(rootless && { fix: { text: 'CRIU checkpoints need rootful podman: connect as root, or run podman through sudo (a NOPASSWD rule for podman).', options: [{ name: 'sudo' }] } }),
  });
  const runtime = caps.info.host.ociRuntime;
  const runtimeName = runtimeVersion(runtime);
  checks.push(
    await check('runtime', async () => {
      if (runtime.name === 'runc') return { level: 'ok', detail: `${runtimeName} supports checkpoints` };
      const crun = runtime.version ?? '';
      const ok = /\+CRIU/.test(crun);
      return {
        level: ok ? 'ok' : 'fail',
        detail: `${runtimeName}${ok ? ' built with CRIU' : ' without CRIU support'}`,
        ...(!ok && { fix: { text: 'Use runc (containers.conf: [engine] runtime = "runc") or a crun built with CRIU.' } }),
      };
    }),
  );
  checks.push({ name: 'cgroups', level: 'ok', detail: `cgroup ${caps.info.host.cgroupVersion}, ${caps.info.host.cgroupManager} manager` });
  checks.push({
    name: 'copies\' TCP connections',
    level: 'ok',
    detail: podmanClosesConnections(caps.restoreFlags, runtime.name)
      ? "closed by podman's own tcp-close"
      : `closed through a CRIU options file (org.criu.config): ${caps.restoreFlags.has('--tcp-close') ? `podman would hand its tcp-close to ${runtime.name}, which lacks it` : `podman ${caps.podmanVersion} restores without tcp-close (5.7+)`}`,
  });
  checks.push({
    name: 'criu version',
    level: caps.criuVersion && versionAtLeast(caps.criuVersion, minimumCriu) ? 'ok' : 'fail',
    detail: caps.criuVersion ? `CRIU ${caps.criuVersion}` : 'CRIU is not installed',
    ...(!(caps.criuVersion && versionAtLeast(caps.criuVersion, minimumCriu)) && { fix: { text: `Install CRIU ${minimumCriu.join('.')} or newer (package criu); on kernels 6.16+ CRIU 4.2 is needed for TCP sockets.` } }),
  });
  checks.push(
    await check('criu check', async () => {
      const result = await host.runner.run(host.privileged(['criu', 'check']));
      const text = `${result.stdout}${result.stderr}`.trim();
      const ok = /Looks good/.test(text);
      return {
        level: ok ? 'ok' : 'fail',
        detail: ok ? 'Looks good.' : text.split('\n').slice(-3).join(' '),
        ...(!ok && { fix: { text: 'Run `criu check` on the host as root and fix what it reports (kernel features, CRIU version).' } }),
      };
    }),
  );
  checks.push(
    await check('network lock', async () => {
      // CRIU locks the container's network during a dump with iptables-restore unless told to use nftables.
      const result = await host.runIdempotent(['sh', '-c', 'command -v iptables-restore || cat /etc/criu/runc.conf /etc/criu/default.conf 2>/dev/null | grep "^network-lock nftables"']);
      const ok = result.exitCode === 0 && result.stdout.trim() !== '';
      return {
        level: ok ? 'ok' : 'fail',
        detail: ok ? result.stdout.trim().split('\n')[0]! : 'neither iptables-restore nor "network-lock nftables" in /etc/criu/runc.conf',
        ...(!ok && { fix: { text: 'Install iptables, or add the line "network-lock nftables" to /etc/criu/runc.conf.' } }),
      };
    }),
  );
  checks.push(
    await check('fence', async () => {
      // Snapshot & Debug fences its copies (fence/): a debug host that cannot refuses them.
      const support = await fenceSupport(host);
      if (!support.ok) {
        return {
          level: 'warn',
          detail: `copies restored here cannot be fenced: ${support.detail}`,
          fix: { text: `Install nftables on ${host.name}${host.options.sudo ? ' and let sudo run nsenter' : ''} (Snapshot & Debug refuses an unfenced copy unless told to let it reach everything).`, options: [{ name: 'fenced', value: 'false' }] },
        };
      }
      const routes = hasRouteOptions(caps.podmanVersion) ? 'and no default route' : 'by the host\'s rules only (podman before 4.7 has no network without a default route)';
      return { level: 'ok', detail: `copies can be fenced (${support.detail}), ${routes}` };
    }),
  );
  checks.push(...(await leftoverChecks(core, host)));
  checks.push(
    await check('temp space', async () => {
      const free = await freeBytes(host, core.settings.remoteTempDir);
      if (free === undefined) return { level: 'fail', detail: `cannot read free space of ${core.settings.remoteTempDir}`, fix: { text: 'Create that folder, or choose another temporary folder.', options: [{ name: 'remoteTempDir' }] } };
      const low = free < lowSpaceBytes;
      return {
        level: low ? 'warn' : 'ok',
        detail: `${formatBytes(free)} free in ${core.settings.remoteTempDir}`,
        ...(low && { fix: { text: 'Archives are as large as the container\'s memory: free space there or choose another temporary folder.', options: [{ name: 'remoteTempDir' }] } }),
      };
    }),
  );
  checks.push(...(await debuggerChecks(host)));
  return checks;
}

/** "runc version 1.3.6+ds1\ncommit: …" → "runc 1.3.6"; the bare name when the version is unknown. */
export function runtimeVersion(runtime: { name: string; version?: string | undefined }): string {
  const version = /version (\d+(?:\.\d+)+)/.exec(runtime.version ?? '')?.[1];
  return version ? `${runtime.name} ${version}` : runtime.name;
}

/** A check that passes when `body` does not throw, and otherwise shows its sentence and fix. */
async function refusalCheck(name: string, okDetail: string, body: () => Promise<unknown>): Promise<DoctorCheck> {
  try {
    await body();
    return { name, level: 'ok', detail: okDetail };
  } catch (error) {
    const fix = error instanceof SnapdebugError ? error.fix : undefined;
    return { name, level: 'fail', detail: describeError(error).split('\n')[0]!, ...(fix && { fix }) };
  }
}

/** podman restores a checkpoint only with the runtime that took it, and on the same cgroup version (snapshot/runtime.ts). */
async function restorableOnPeer(source: Host, peer: Host): Promise<DoctorCheck[]> {
  const { info } = await source.capabilities();
  const runtime = info.host.ociRuntime.name;
  return [
    await refusalCheck(`runtime ${source.name} → ${peer.name}`, `${peer.name} has ${runtime}, which restores what ${source.name} checkpoints`, () => restoringRuntime(peer, runtime)),
    await refusalCheck(`cgroups ${source.name} → ${peer.name}`, `both cgroup ${info.host.cgroupVersion}`, () => requireCgroupVersion(peer, source.name, info.host.cgroupVersion)),
  ];
}
/**
 * The debuggers a debug host runs for copies (debug/requirements.ts). A missing one is a warning,
 * not a failure: a host that only ever checkpoints needs none.
 */
async function debuggerChecks(host: Host): Promise<DoctorCheck[]> {
  return Promise.all(
    debugTools.map((tool) =>
      check(`debugger ${tool.program}`, async () => {
        const path = await whichOnHost(host, tool.program);
        const runtimes = tool.runtimes.map(runtimeName).join(' and ');
        if (path === undefined) {
          return { level: 'warn', detail: `no ${tool.name}: ${runtimes} copies cannot be attached on ${host.name}`, fix: { text: `Install it on ${host.name}: ${tool.install}.` } };
        }
        return { level: 'ok', detail: `${path}, for ${runtimes} copies` };
      }),
    ),
  );
}

/**
 * What earlier runs left (the sweep removed it as this session opened), what other clients are
 * doing, and processes still running for a session that is gone.
 */
async function leftoverChecks(core: Core, host: Host): Promise<DoctorCheck[]> {
  const leftovers = await check('leftovers', async () => {
    await host.session!.dir();
    const swept = host.session!.swept;
    if (swept.length === 0) return { level: 'ok', detail: 'nothing left by earlier runs' };
    return { level: 'warn', detail: `removed what earlier runs left: ${swept.map((line) => describeUndone(line.replace(/^\S+ /, ''))).join('; ')}`, fix: { text: 'Nothing to do: snapdebug sweeps every time it connects.' } };
  });
  const inventory = await check('snapdebug on host', async () => {
    const found = await hostInventory(host, core.settings.remoteTempDir, host.session!.settings.leaseTtlSeconds);
    const others = found.liveSessions.length - 1;
    const parts = [
      others > 0 ? `${others} other snapdebug session${others === 1 ? '' : 's'} at work` : 'no other snapdebug session',
      found.keptForCopies.length > 0 && `CRIU options of ${found.keptForCopies.length} cop${found.keptForCopies.length === 1 ? 'y' : 'ies'}`,
      found.keptArchives.length > 0 && `${found.keptArchives.length} pushed archive(s) (${found.keptArchives.map((k) => `${k.folder} until ${k.expiresAt ?? '?'}`).join(', ')})`,
    ].filter(Boolean);
    if (found.stuck.length > 0) {
      return {
        level: 'fail',
        detail: `processes of a session that is gone still run: ${found.stuck.map((p) => `${p.pid} ${p.command.slice(0, 120)}`).join('; ')}`,
        fix: { text: `They may hold a container's lock (podman ps hangs). End them by PID on ${host.name}: ${host.options.sudo ? 'sudo ' : ''}kill ${found.stuck.map((p) => p.pid).join(' ')}` },
      };
    }
    const logind = found.logind;
    if (logind && logind.uid !== 0 && /^(yes|true|1|on)$/i.test(logind.killUserProcesses) && !logind.linger) {
      return {
        level: 'warn',
        detail: `systemd-logind ends ${logind.user}'s processes when the SSH session closes (KillUserProcesses=yes): the watchdog that cleans up after a dropped link would end with it`,
        fix: { text: `Let ${logind.user}'s processes outlive the session on ${host.name}: sudo loginctl enable-linger ${logind.user}` },
      };
    }
    if (found.legacyFiles.length > 0) {
      return {
        level: 'warn',
        detail: `files an older snapdebug left (process memory): ${found.legacyFiles.join(', ')}`,
        fix: { text: `Remove them unless a copy from that version still needs its .conf: ${host.options.sudo ? 'sudo ' : ''}rm ${found.legacyFiles.join(' ')}` },
      };
    }
    return { level: 'ok', detail: parts.join('; ') };
  });
  return [leftovers, inventory];
}

/** Runs `body` in a work on each host; both works are finished (or abandoned) whatever happens. */
async function inWorks<T>(hosts: Host[], purpose: string, body: (works: RemoteWork[]) => Promise<T>): Promise<T> {
  const works: RemoteWork[] = [];
  try {
    for (const host of hosts) works.push(await host.beginWork(purpose));
    return await body(works);
  } finally {
    await Promise.all(works.map((work) => work.finish().catch(() => work.abandon())));
  }
}

/** Arguments: sudo|root, folder. CRIU's CPU description of this host, base64 on stdout. */
const cpuinfoDumpScript = `${prelude}
r criu cpuinfo dump -D "$1" >&2 && r cat "$1/cpuinfo.img" | base64 -w0
`;
/** Arguments: sudo|root, folder. Reads a CPU description (base64) on stdin and checks this host can run it. */
const cpuinfoCheckScript = `${prelude}
base64 -d > "$1/cpuinfo.img" && r criu cpuinfo check -D "$1"
`;

/**
 * Whether the peer reaches the source itself, by name, with the host key verified from here: then
 * archives can go host to host (snapshot/hostToHost.ts). Not reaching it is no failure: archives
 * then go through this machine, and the line says why.
 */
async function hostToHostLink(source: Host, peer: Host): Promise<DoctorCheck> {
  return check(`link ${peer.name} → ${source.name}`, () =>
    inWorks([peer], 'doctor: host-to-host link', async ([peerWork]) => {
      const link = await probeSourceLink(source, peerWork!);
      if ('reason' in link) return { level: 'warn' as const, detail: `archives go through this machine: ${link.reason}` };
      return { level: 'ok' as const, detail: `${peer.name} reaches ${source.name} at ${link.link.address} and sees the host key verified here: archives can go host to host` };
    }),
  );
}

/** `criu cpuinfo dump` on the source, `criu cpuinfo check` of that image on the peer. */
async function cpuCompatibility(source: Host, peer: Host): Promise<DoctorCheck> {
  return check(`cpu ${source.name} → ${peer.name}`, () =>
    inWorks([source, peer], 'doctor: CPU compatibility', async ([sourceWork, peerWork]) => {
      const dump = await source.runner.run(source.script(cpuinfoDumpScript, [sourceWork!.dir]));
      if (dump.exitCode !== 0) return { level: 'fail' as const, detail: `criu cpuinfo dump failed on ${source.name}: ${dump.stderr.trim()}` };
      const check = await peer.runner.run(peer.script(cpuinfoCheckScript, [peerWork!.dir]), { stdin: dump.stdout.trim() });
      const ok = check.exitCode === 0;
      return {
        level: ok ? ('ok' as const) : ('fail' as const),
        detail: ok ? `${peer.name} can run what ${source.name} checkpoints` : `CPU features differ: ${`${check.stdout}${check.stderr}`.trim().split('\n').slice(-2).join(' ')}`,
        ...(!ok && { fix: { text: `Restore on a host with the same CPU features as ${source.name}, or checkpoint on a host with fewer.` } }),
      };
    }),
  );
}

export async function doctor(core: Core, hostName: string, peerName?: string): Promise<DoctorReport> {
  const host = core.hosts.get(hostName);
  const checks = await hostChecks(core, host);
  if (peerName !== undefined) {
    const peer = core.hosts.get(peerName);
    const peerChecks = await hostChecks(core, peer);
    checks.push(...peerChecks.map((c) => ({ ...c, name: `${peerName}: ${c.name}` })));
    if (checks.every((c) => c.level !== 'fail')) {
      checks.push(await cpuCompatibility(host, peer));
      const [a, b] = await Promise.all([host.capabilities(), peer.capabilities()]);
      checks.push(...(await restorableOnPeer(host, peer)));
      checks.push(await hostToHostLink(host, peer));
      if (a.podmanVersion.split('.')[0] !== b.podmanVersion.split('.')[0]) {
        checks.push({ name: 'podman versions', level: 'warn', detail: `podman ${a.podmanVersion} on ${hostName}, ${b.podmanVersion} on ${peerName}`, fix: { text: 'Restores across podman major versions may fail: align them.' } });
      }
    }
  }
  return { host: hostName, ...(peerName !== undefined && { peer: peerName }), checks, ok: checks.every((c) => c.level !== 'fail') };
}
