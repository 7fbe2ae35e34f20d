// Extra lab hosts for benchmarks that need many hosts (bench/tree.ts): bench1..benchN on
// 127.0.0.1:2211.., each started by startHost exactly like prod and debug (its own namespaces, an
// overlay over the cached read-only root, its own container storage), with an ssh_config and a
// known_hosts of their own that name all of them plus prod and debug. stopBenchHosts ends exactly
// what startBenchHosts started, by PID (never prod's or debug's processes), then removes the
// hosts' folders, host keys and the cgroup folders their containers left in this machine's tree.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { portIsFree, startHost, stopHost } from './hosts';
import { labMounts, removeLabCgroups } from './leftovers';
import { labFiles, labHosts, labPortBase, type LabHostSpec } from './paths';
import { readState, type HostRunState } from './state';

export const benchHostBasePort = labPortBase + 10;
export const maxBenchHosts = 8;

export interface BenchHosts {
  /** The extra hosts as started (PIDs tracked with their start times). */
  started: HostRunState[];
  /** prod, debug, bench1..benchN: every host the ssh_config below names. */
  names: string[];
  sshConfig: string;
  knownHosts: string;
}

export function benchHostSpecs(count: number): LabHostSpec[] {
  if (count < 0 || count > maxBenchHosts) throw new Error(`between 0 and ${maxBenchHosts} bench hosts`);
  return Array.from({ length: count }, (_, i) => ({ name: `bench${i + 1}`, sshPort: benchHostBasePort + i, kind: 'trixie', cgroups: 'hybrid', extra: true }));
}

function publicKeyLine(host: LabHostSpec): string {
  const [type, key] = readFileSync(join(labFiles.hostKeys(host.name), 'ssh_host_ed25519_key.pub'), 'utf8').split(' ');
  return `[127.0.0.1]:${host.sshPort} ${type} ${key}`;
}

function writeClientFiles(dir: string, hosts: LabHostSpec[]): { sshConfig: string; knownHosts: string } {
  const knownHosts = join(dir, 'known_hosts');
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(knownHosts, hosts.map(publicKeyLine).join('\n') + '\n', { mode: 0o600 });
  const blocks = hosts.map((host) =>
    [
      `Host ${host.name}`,
      '  HostName 127.0.0.1',
      `  Port ${host.sshPort}`,
      '  User root',
      `  IdentityFile ${labFiles.privateKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes',
    ].join('\n'),
  );
  writeFileSync(sshConfig, `# Written by lab/benchHosts.ts: the lab's hosts and the benchmark's extra hosts.\n${blocks.join('\n\n')}\n`, { mode: 0o600 });
  return { sshConfig, knownHosts };
}

/**
 * Starts `count` extra hosts next to a running lab; their client files go to `dir`. On any
 * failure, whatever was started is stopped again before the error is thrown.
 */
export async function startBenchHosts(count: number, dir: string, say: (line: string) => void = () => undefined): Promise<BenchHosts> {
  const lab = readState();
  if (!lab) throw new Error('the lab is not up: run `npm run lab:up` first');
  const [rootDir, imagesDir] = [lab.parts['host-trixie'], lab.parts.images];
  if (!rootDir || !imagesDir || !existsSync(rootDir) || !existsSync(imagesDir)) throw new Error(`the lab's cache (${rootDir}, ${imagesDir}) is gone`);
  const parts = { rootfs: join(rootDir, 'rootfs'), images: join(imagesDir, 'images') };
  const specs = benchHostSpecs(count);
  for (const spec of specs) {
    if (!(await portIsFree(spec.sshPort))) throw new Error(`127.0.0.1:${spec.sshPort} is taken: bench host ${spec.name} cannot start`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const started: HostRunState[] = [];
  const bench: BenchHosts = { started, names: [], sshConfig: '', knownHosts: '' };
  try {
    for (const spec of specs) {
      const keys = labFiles.hostKeys(spec.name);
      rmSync(keys, { recursive: true, force: true });
      mkdirSync(keys, { recursive: true, mode: 0o700 });
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${spec.name}`, '-f', join(keys, 'ssh_host_ed25519_key')]);
    }
    const results = await Promise.allSettled(specs.map((spec) => startHost(spec, parts)));
    for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const all = [...labHosts.filter((h) => lab.hosts.some((r) => r.name === h.name)), ...specs];
    Object.assign(bench, writeClientFiles(dir, all), { names: all.map((h) => h.name) });
    say(`bench hosts up: ${specs.map((s) => `${s.name} 127.0.0.1:${s.sshPort}`).join(', ')}`);
    return bench;
  } catch (error) {
    await stopBenchHosts(bench, specs.map((s) => s.name)).catch(() => undefined);
    throw error;
  }
}

async function containerIds(sshConfig: string, host: string): Promise<string[]> {
  const result = await execa('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', host, 'PODMAN_IGNORE_CGROUPSV1_WARNING=1 podman ps --all --no-trunc --format "{{.ID}}"'], {
    reject: false,
    timeout: 30_000,
  });
  return result.stdout.split('\n').filter((id) => /^[0-9a-f]{64}$/.test(id));
}

/**
 * Ends the extra hosts (their PID 1: the kernel then ends everything inside), removes the cgroup
 * folders of their containers, their state folders (only once nothing is mounted there) and their
 * host keys. `names` also covers hosts whose start failed half-way.
 */
export async function stopBenchHosts(bench: BenchHosts, names: string[] = bench.started.map((h) => h.name)): Promise<void> {
  const ids = bench.sshConfig
    ? (await Promise.all(bench.started.map((h) => containerIds(bench.sshConfig, h.name)))).flat()
    : [];
  await Promise.all(bench.started.map(stopHost));
  removeLabCgroups([], ids);
  const problems: string[] = [];
  for (const name of names) {
    if (labHosts.some((h) => h.name === name)) continue; // never prod's or debug's folders
    const state = labFiles.hostState(name);
    const mounted = labMounts().filter((line) => line.includes(`${state}/`) || line.includes(`${state} `));
    if (mounted.length > 0) {
      problems.push(`${name}: still mounted, folder kept: ${mounted.join('; ')}`);
      continue;
    }
    if (existsSync(state)) rmSync(state, { recursive: true, force: true });
    rmSync(labFiles.hostKeys(name), { recursive: true, force: true });
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
