// What the lab's links really give (`npx tsx lab/cli.ts measure`): round trip and the rate of a
// 100 MiB transfer each way, this machine ↔ prod (through its forwarder) and debug ↔ prod (on the
// lab link: this machine's OpenSSH client run inside debug's network namespace, so no key is put
// on any host). Both are measured the same way: OpenSSH's `ssh`, a one-byte echo through `cat`
// for the round trip, zeros through `head`/`cat` for the rate, timed from the first byte.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { labAddress } from './network';
import { labFiles } from './paths';
import { readState } from './state';

export const transferBytes = 100 * 1024 * 1024;

/** argv of an OpenSSH client reaching `host`, from this machine or from inside another host's network. */
export interface SshPath {
  describe: string;
  argv: (remoteCommand: string) => string[];
}

export function clientPath(host: string): SshPath {
  return { describe: `this machine ↔ ${host}`, argv: (command) => ['ssh', '-F', labFiles.sshConfig, '-o', 'BatchMode=yes', host, command] };
}

/** `from`'s network namespace, this machine's ssh and the lab's key, to `to`'s sshd on the lab link. */
export function hostToHostPath(from: string, to: string, knownHostsFile: string): SshPath {
  const init = readState()?.hosts.find((h) => h.name === from)?.init.pid;
  if (!init) throw new Error(`lab host ${from} is not running`);
  return {
    describe: `${from} ↔ ${to} (lab link)`,
    argv: (command) => ['nsenter', `--net=/proc/${init}/ns/net`, '--', 'ssh', '-i', labFiles.privateKey, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', `root@${labAddress(to)}`, command],
  };
}

/** A known_hosts file naming `host` by its lab address with its lab host key (removed by the caller). */
export function labLinkKnownHosts(hosts: readonly string[]): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'snapdebug-lab-kh-'));
  const file = join(dir, 'known_hosts');
  const lines = hosts.map((host) => {
    const [type, key] = readFileSync(join(labFiles.hostKeys(host), 'ssh_host_ed25519_key.pub'), 'utf8').split(' ');
    return `${labAddress(host)} ${type} ${key}`;
  });
  writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median round trip of `rounds` one-byte echoes through `cat` on an open connection. */
export function roundTripMs(path: SshPath, rounds = 21): Promise<number> {
  const [command, ...args] = path.argv('cat');
  const ssh = spawn(command!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const samples: number[] = [];
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    const ping = () => {
      sentAt = performance.now();
      ssh.stdin.write('x');
    };
    ssh.stdout.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++) samples.push(performance.now() - sentAt);
      // The first echo also waits for the session to start: it is not a sample.
      if (samples.length <= rounds) return ping();
      ssh.stdin.end();
      resolve(median(samples.slice(1)));
    });
    ssh.on('error', reject);
    ssh.on('exit', (code) => samples.length <= rounds && reject(new Error(`${path.describe}: ssh ended (${code}) after ${samples.length} echoes`)));
    ping();
  });
}

/** Bytes per second of `transferBytes` zeros, host → here ('down') or here → host ('up'). */
export function transferRate(path: SshPath, direction: 'down' | 'up'): Promise<number> {
  const remote = direction === 'down' ? `head -c ${transferBytes} /dev/zero` : `cat >/dev/null; echo done`;
  const [command, ...args] = path.argv(remote);
  const ssh = spawn(command!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let firstAt = 0;
    let received = 0;
    ssh.on('error', reject);
    if (direction === 'down') {
      ssh.stdin.end();
      ssh.stdout.on('data', (chunk: Buffer) => {
        if (received === 0) firstAt = performance.now();
        received += chunk.length;
      });
      ssh.on('close', (code) => (received === transferBytes ? resolve((received * 1000) / (performance.now() - firstAt)) : reject(new Error(`${path.describe}: got ${received} bytes, ssh exit ${code}`))));
      return;
    }
    // Up: the clock starts at the first write once the session answers, stops when cat has seen EOF.
    let answered = false;
    ssh.stdout.on('data', (chunk: Buffer) => (answered = chunk.toString().includes('done')));
    const block = Buffer.alloc(256 * 1024);
    let sent = 0;
    const pump = () => {
      if (firstAt === 0) firstAt = performance.now();
      while (sent < transferBytes) {
        sent += block.length;
        if (!ssh.stdin.write(block)) {
          ssh.stdin.once('drain', pump);
          return;
        }
      }
      ssh.stdin.end();
    };
    pump();
    ssh.on('close', (code) => (answered ? resolve((transferBytes * 1000) / (performance.now() - firstAt)) : reject(new Error(`${path.describe}: upload ended, ssh exit ${code}`))));
  });
}

export interface PathMeasurement {
  path: string;
  roundTripMs: number;
  downBytesPerSecond: number;
  upBytesPerSecond: number;
}

export async function measurePath(path: SshPath): Promise<PathMeasurement> {
  const roundTrip = await roundTripMs(path);
  const down = await transferRate(path, 'down');
  const up = await transferRate(path, 'up');
  return { path: path.describe, roundTripMs: roundTrip, downBytesPerSecond: down, upBytesPerSecond: up };
}

export function formatMeasurement(m: PathMeasurement): string {
  const mbit = (bytesPerSecond: number) => `${((bytesPerSecond * 8) / 1e6).toFixed(0)} Mbit/s (${(bytesPerSecond / 2 ** 20).toFixed(1)} MiB/s)`;
  return `${m.path}: round trip ${m.roundTripMs.toFixed(2)} ms; 100 MiB down ${mbit(m.downBytesPerSecond)}, up ${mbit(m.upBytesPerSecond)}`;
}

/** Both paths of the running lab, one after the other (never at once: they share 2 cores). */
export async function measureLab(say: (line: string) => void): Promise<PathMeasurement[]> {
  const knownHosts = labLinkKnownHosts(['prod']);
  try {
    const results: PathMeasurement[] = [];
    for (const path of [clientPath('prod'), hostToHostPath('debug', 'prod', knownHosts.file)]) {
      const m = await measurePath(path);
      say(formatMeasurement(m));
      results.push(m);
    }
    return results;
  } finally {
    knownHosts.remove();
  }
}
