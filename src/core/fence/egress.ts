// What a fenced copy may still reach: HOST:PORT pairs a person names (TCP only), resolved to IPv4
// addresses on the debug host — the copy's own view of names — and opened exactly, address by
// address and port by port. Also how they ride on the copy's label so every face can show them.
import type { Host } from '../host';
import { SnapdebugError } from '../util/errors';

/** One HOST:PORT as given. */
export interface EgressSpec {
  host: string;
  port: number;
}

/** A HOST:PORT with the addresses its name had on the debug host when the copy was made. */
export interface AllowedEgress extends EgressSpec {
  addresses: string[];
}

const octet = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const ipv4Pattern = new RegExp(`^${octet}(\\.${octet}){3}$`);
// RFC 1123 labels; a trailing dot (fully qualified) is allowed.
const hostnamePattern = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function isIpv4(text: string): boolean {
  return ipv4Pattern.test(text);
}

/** HOST:PORT, checked: HOST a name or an IPv4 address, PORT 1–65535. */
export function parseEgress(spec: string): EgressSpec {
  const text = spec.trim();
  const usage = 'write HOST:PORT, e.g. db.internal:5432 or 10.0.0.5:5432';
  if (text.startsWith('[') || (text.match(/:/g)?.length ?? 0) > 1) {
    throw new SnapdebugError(`"${spec}" is an IPv6 address: copies' networks are IPv4 only, so ${usage}.`);
  }
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new SnapdebugError(`"${spec}" names no port: ${usage}.`);
  const host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) throw new SnapdebugError(`"${spec}" has no port between 1 and 65535: ${usage}.`);
  if (/[*/]/.test(host)) throw new SnapdebugError(`"${spec}" is a pattern or a range: the fence opens exact hosts only, so ${usage}.`);
  const looksNumeric = /^[\d.]+$/.test(host);
  if (looksNumeric ? !isIpv4(host) : !hostnamePattern.test(host)) throw new SnapdebugError(`"${host}" in "${spec}" is neither a host name nor an IPv4 address: ${usage}.`);
  if (host === '0.0.0.0' || host === '255.255.255.255') throw new SnapdebugError(`"${spec}" names no single host: ${usage}.`);
  return { host: host.toLowerCase().replace(/\.$/, ''), port };
}

/** Each HOST:PORT once, checked. */
export function parseEgressList(specs: readonly string[]): EgressSpec[] {
  const seen = new Map<string, EgressSpec>();
  for (const spec of specs) {
    const parsed = parseEgress(spec);
    seen.set(formatEgress(parsed), parsed);
  }
  return [...seen.values()];
}

export function formatEgress(egress: EgressSpec): string {
  return `${egress.host}:${egress.port}`;
}

/** How a person reads an allowance: "db.internal:5432 (10.0.0.5, 10.0.0.6)", or the address alone. */
export function describeEgress(egress: AllowedEgress): string {
  const literal = egress.addresses.length === 1 && egress.addresses[0] === egress.host;
  return literal ? formatEgress(egress) : `${formatEgress(egress)} (${egress.addresses.join(', ')})`;
}

/** The IPv4 addresses in `getent ahostsv4` output (untrusted: every address is checked). */
export function parseResolved(stdout: string): string[] {
  const addresses = stdout.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '');
  return [...new Set(addresses.filter(isIpv4))];
}

/**
 * Resolves each name on the debug host (the copy would ask that host's resolvers), with the C
 * library's own lookup: /etc/hosts, DNS, whatever nsswitch.conf says. Addresses are taken as they
 * are; a name that does not resolve there is an error, before anything is restored.
 */
export async function resolveEgress(host: Host, specs: readonly EgressSpec[], signal?: AbortSignal): Promise<AllowedEgress[]> {
  return Promise.all(
    specs.map(async (spec) => {
      if (isIpv4(spec.host)) return { ...spec, addresses: [spec.host] };
      const result = await host.runIdempotent(['getent', 'ahostsv4', spec.host], signal ? { signal } : {});
      const addresses = result.exitCode === 0 ? parseResolved(result.stdout) : [];
      if (addresses.length === 0) {
        throw new SnapdebugError(`${spec.host} has no IPv4 address on ${host.name}, so the copy's fence cannot open ${formatEgress(spec)}.`, {
          fix: { text: `Name the host by its address, or one ${host.name} resolves.`, options: [{ name: 'allowEgress' }] },
          ...(result.stderr.trim() && { detail: result.stderr.trim() }),
        });
      }
      return { ...spec, addresses };
    }),
  );
}

/** The allowances as a label value: "db.internal:5432=10.0.0.5+10.0.0.6,10.0.0.7:6379=10.0.0.7". */
export function encodeAllowed(allowed: readonly AllowedEgress[]): string {
  return allowed.map((a) => `${formatEgress(a)}=${a.addresses.join('+')}`).join(',');
}

/** A label read back, for showing only (a label is not proof of a rule): bad entries are left out. */
export function decodeAllowed(label: string | undefined): AllowedEgress[] {
  if (!label) return [];
  return label.split(',').flatMap((entry) => {
    const [spec, list] = entry.split('=');
    try {
      const parsed = parseEgress(spec ?? '');
      const addresses = (list ?? '').split('+').filter(isIpv4);
      return addresses.length > 0 ? [{ ...parsed, addresses }] : [];
    } catch {
      return [];
    }
  });
}
