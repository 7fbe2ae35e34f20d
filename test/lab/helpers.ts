// Shared by the lab suites: OpenSSH into the lab hosts, and the demo service's state.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { labSsh } from '../../lab/sshfiles';
import { readState } from '../../lab/state';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labFiles } from '../../lab/paths';
import { createCore, type Core, type CoreOptions } from '../../src/core/core';

export { labSsh };

const execFileAsync = promisify(execFile);

export async function containerIp(host: string, container: string): Promise<string> {
  // Fenced copies sit on a network of their own, where podman leaves .NetworkSettings.IPAddress empty.
  const ip = (await labSsh(host, `podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' ${container}`)).trim().split(' ')[0] ?? '';
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`no IP for ${host}/${container}: "${ip}"`);
  return ip;
}

export interface DemoState {
  requestCount: number;
  ticks: number;
  startedAt: string;
}

/** GET /state of a demo-api container, from inside its host (container addresses live there). */
export async function demoState(host: string, container: string): Promise<DemoState> {
  const ip = await containerIp(host, container);
  return JSON.parse(await labSsh(host, `curl -sf --max-time 5 http://${ip}:8080/state`)) as DemoState;
}

export async function containerPid(host: string, container: string): Promise<number> {
  return Number((await labSsh(host, `podman inspect --format '{{.State.Pid}}' ${container}`)).trim());
}

export async function topCommands(host: string, container: string): Promise<string[]> {
  const out = await labSsh(host, `podman top ${container} args`);
  return out.split('\n').slice(1).map((l) => l.trim()).filter(Boolean).sort();
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}


export const refusePrompts = {
  confirmHostKey: async () => false,
  passphrase: async () => undefined,
  password: async () => undefined,
};

/** A core on the lab's ssh_config with a store of its own (removed by cleanup()). */
export function labCore(options: Partial<CoreOptions> = {}): Core & { cleanup(): void; commands: string[] } {
  const storeDir = mkdtempSync(join(tmpdir(), 'snapdebug-store-'));
  const commands: string[] = [];
  const core = createCore({
    sshConfigFile: labFiles.sshConfig,
    storeDir: join(storeDir, 'store'),
    prompts: refusePrompts,
    commandLog: (e) => commands.push(`${e.host}: ${e.command}`),
    ...options,
  });
  return Object.assign(core, {
    commands,
    cleanup: () => {
      core.dispose();
      rmSync(storeDir, { recursive: true, force: true });
    },
  });
}

/**
 * What snapdebug left on a host, but for what may stay: a live session's own folder (its lease
 * and PIDs) and a copy's kept folder while that copy exists. Work folders, kept folders of copies
 * that are gone, and files an older snapdebug named snapdebug-* are all "left".
 */
export async function tempArchives(host: string): Promise<string[]> {
  const script = [
    'for w in /var/tmp/snapdebug-s.*/w.*; do [ -e "$w" ] && echo "$w"; done',
    'for k in /var/tmp/snapdebug-k.*; do [ -d "$k" ] || continue; c=$(cat "$k/copy" 2>/dev/null); [ -n "$c" ] && podman container exists "$c" 2>/dev/null && continue; echo "$k"; done',
    'ls -1d /var/tmp/snapdebug-*.tar* /var/tmp/snapdebug-criu-*.conf /tmp/snapdebug* 2>/dev/null',
    'true',
  ].join('\n');
  return (await labSsh(host, script)).split('\n').filter(Boolean);
}

/** The kept folders holding copies' CRIU options files (src/core/snapshot/tcpClose.ts), as "FOLDER COPY". */
export async function criuConfigs(host: string): Promise<string[]> {
  const script = 'for k in /var/tmp/snapdebug-k.*; do [ -f "$k/criu.conf" ] && echo "$k $(cat "$k/copy")"; done; true';
  return (await labSsh(host, script)).split('\n').filter(Boolean);
}

/** Removes a container, and the folder snapdebug may have kept for it. */
/**
 * Host shell: fenced copies' networks whose copy is gone, and our table once none is left — what
 * `snapdebug discard` takes down with a copy (a copy removed by hand leaves them to the next sweep).
 */
export const removeOrphanFences = `for n in $(podman network ls --quiet --filter label=snapdebug.fence); do
  podman container exists "$(podman network inspect --format '{{index .Labels "snapdebug.fence"}}' "$n")" || podman network rm "$n" >/dev/null
done
[ -n "$(podman network ls --quiet --filter label=snapdebug.fence)" ] || nft delete table inet snapdebug 2>/dev/null; true`;

export async function removeContainer(host: string, name: string): Promise<void> {
  await labSsh(host, `podman rm -f -t 0 ${name} >/dev/null 2>&1; for k in /var/tmp/snapdebug-k.*; do [ "$(cat "$k/copy" 2>/dev/null)" = ${name} ] && rm -rf "$k"; done; ${removeOrphanFences}`);
}

/** Closes each Snapshot & Debug session and removes its copy (as root on `host`, else on the copy's own host). */
export async function endSessions(sessions: readonly { close(): Promise<void>; copy: { host: string; name: string } }[], host?: string): Promise<void> {
  for (const session of sessions) {
    await session.close();
    await removeContainer(host ?? session.copy.host, session.copy.name);
  }
}

export async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Fails, naming the command that starts them, unless every named lab host is up. */
export function requireHosts(...names: string[]): void {
  const up = readState()?.hosts.map((h) => h.name) ?? [];
  const missing = names.filter((name) => !up.includes(name));
  if (missing.length > 0) throw new Error(`lab host ${missing.join(', ')} is not up: run \`npm run lab:up -- --all\` first`);
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The snapdebug CLI as a user runs it, on the lab's ssh_config (or another) and a store of the caller's. */
export async function runCli(store: string, args: string[], options: { sshConfig?: string } = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await execFileAsync('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', options.sshConfig ?? labFiles.sshConfig, '--store', store, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * What a failed (often: timed-out) test leaves for its reader: the last commands the core ran to
 * the end, and what still runs on the hosts (podman, CRIU, tar, gdb…) — where a hang waits.
 */
export async function describeStall(core: Pick<Core, 'hosts'> & { commands: string[] }, hosts: string[]): Promise<void> {
  console.log(`      last commands the core finished:\n${core.commands.slice(-15).map((c) => `        ${c}`).join('\n')}`);
  // A channel never given back would leave a host's connection full: its next command waits.
  console.log(`      channels in use: ${hosts.map((h) => `${h} ${core.hosts.pool.connection(h).channelsInUse}`).join(', ')}`);
  for (const host of hosts) {
    const ps = await labSsh(host, "ps -eo pid,etimes,stat,args --sort=start_time | grep -E 'podman|criu|conmon|tar |gdb|nsenter|snapdebug' | grep -v grep | tail -20").catch((error: Error) => error.message);
    console.log(`      still running on ${host}:\n${ps.trimEnd().split('\n').map((l) => `        ${l}`).join('\n')}`);
  }
}
