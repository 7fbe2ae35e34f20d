// Whether an archive can go host to host: the target host must reach the source by its name,
// with the source's key this machine verified (never trust-on-first-use on a host). When it
// cannot, or the user asked for the archive to come through this machine, the caller takes the
// path through here and says why in one line.
import type { Host } from '../host';
import type { RemoteWork } from '../remote/work';
import { keyTypeOf } from '../ssh/knownHosts';
import { probeScript } from './hostToHostScripts';

/** How the debug host reaches the source: checked by probeSourceLink. */
export interface SourceLink {
  address: string;
  port: number;
  user: string;
  keyType: string;
  key: string;
  /** The debug host's own addresses: the only ones the one-time key is good from. */
  from: string;
}

/** Host to host, or the reason the archive goes through this machine. */
export type Route = { link: SourceLink } | { reason: string };

/** Whether `work`'s host reaches `source` with the key this machine verified, and why not when not. */
export async function probeSourceLink(source: Host, work: RemoteWork): Promise<Route> {
  const key = source.runner.hostKey?.();
  if (!key) return { reason: `${source.name} is not reached over SSH from here` };
  const facts = await source.runner.run(['sh', '-c', 'hostname; id -un']);
  const [name, user] = facts.stdout.trim().split('\n');
  if (facts.exitCode !== 0 || !name || !user) return { reason: `${source.name} did not say its host name` };
  const keyType = keyTypeOf(key);
  const port = 22;
  const probe = await work.host.runner.run(work.host.script(probeScript, [work.dir, name, String(port), user, keyType, key.toString('base64')]));
  const said = (word: string) => probe.stdout.split('\n').find((l) => l.startsWith(`${word} `))?.slice(word.length + 1).trim();
  const verdict = said('verdict') ?? `failed (${probe.stderr.trim() || `exit ${probe.exitCode}`})`;
  const where = `${work.host.name} → ${source.name} (${name}${said('address') ? ` at ${said('address')}` : ''})`;
  if (verdict !== 'ok') {
    const why: Record<string, string> = {
      'no-ssh': `${work.host.name} has no ssh client`,
      'no-name': `${work.host.name} cannot resolve ${name}`,
      'wrong-key': `${where} shows another host key than the one verified from here`,
    };
    return { reason: why[verdict] ?? `${where}: ${verdict.replace(/^unreachable ?/, 'unreachable ')}`.trim() };
  }
  const address = said('address')!;
  const from = said('from') ?? '';
  if (!/^[0-9a-fA-F.:,]+$/.test(from)) return { reason: `${work.host.name} did not list its own addresses` };
  return { link: { address, port, user, keyType, key: key.toString('base64'), from } };
}

/**
 * The route an archive takes from `source` to `work`'s host. Host to host unless asked otherwise,
 * or the probe says the hosts do not reach each other.
 */
export async function chooseRoute(source: Host, work: RemoteWork, request: { throughHere?: boolean }, log: (line: string) => void): Promise<Route> {
  const route: Route = request.throughHere ? { reason: 'asked for (through this machine)' } : await probeSourceLink(source, work);
  log('link' in route ? `${work.host.name} reaches ${source.name} at ${route.link.address}: the archive goes host to host.` : `The archive goes through this machine: ${route.reason}.`);
  return route;
}
