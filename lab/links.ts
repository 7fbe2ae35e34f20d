// The links between this machine and the lab's hosts, for fault tests: a link can be cut (every
// packet to and from that host's SSH port dropped, in this machine's nftables — a dead link, not
// a closed one: neither side hears anything) and mended. And a shell on a host that needs no
// link at all (nsenter into the host's namespaces), to look at a host while its link is down.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { labHosts } from './paths';
import { readState } from './state';

const run = promisify(execFile);
/** Our own nftables table in this machine's namespace; lab:down removes it. */
export const linksTable = 'snapdebug_lab_links';

function portOf(host: string): number {
  const spec = labHosts.find((h) => h.name === host) ?? readState()?.hosts.find((h) => h.name === host);
  if (!spec) throw new Error(`no lab host named ${host}`);
  return spec.sshPort;
}

async function nft(...args: string[]): Promise<string> {
  return (await run('nft', args)).stdout;
}

async function ensureTable(): Promise<void> {
  await nft('add', 'table', 'inet', linksTable);
  await nft('add', 'set', 'inet', linksTable, 'cut', '{ type inet_service; }');
  // Loopback traffic passes the input hook once per direction: both ends are on this machine.
  const chain = await nft('list', 'table', 'inet', linksTable).catch(() => '');
  if (!/chain input/.test(chain)) {
    await nft('add', 'chain', 'inet', linksTable, 'input', '{ type filter hook input priority -50; }');
    await nft('add', 'rule', 'inet', linksTable, 'input', 'tcp', 'dport', '@cut', 'drop');
    await nft('add', 'rule', 'inet', linksTable, 'input', 'tcp', 'sport', '@cut', 'drop');
  }
}

/** Drops every packet of `host`'s link (open connections stall; new ones time out). */
export async function cutLink(host: string): Promise<void> {
  await ensureTable();
  await nft('add', 'element', 'inet', linksTable, 'cut', `{ ${portOf(host)} }`);
}

export async function mendLink(host: string): Promise<void> {
  await nft('delete', 'element', 'inet', linksTable, 'cut', `{ ${portOf(host)} }`).catch(() => undefined);
}

/** Removes the table (lab:down), whatever it holds. */
export async function removeLinksTable(): Promise<void> {
  await nft('delete', 'table', 'inet', linksTable).catch(() => undefined);
}

/** Runs a shell command inside a lab host without SSH: works while its link is cut. */
export async function hostShell(host: string, command: string, timeoutMs = 60_000): Promise<string> {
  const init = readState()?.hosts.find((h) => h.name === host)?.init.pid;
  if (!init) throw new Error(`lab host ${host} is not running`);
  const { stdout } = await run('nsenter', ['--target', String(init), '--all', '--', '/bin/sh', '-c', `export PODMAN_IGNORE_CGROUPSV1_WARNING=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin; ${command}`], {
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}
