// What a fence is made of on the debug host, as text and argv (fence.ts runs them): a podman network
// of the copy's own, whose bridge is named snapdebugID, and our nftables table `inet snapdebug`,
// which rejects every new connection arriving from any snapdebug* bridge — to other hosts, other
// containers, the host itself — except what the copy was allowed. Rules key on the bridge's name,
// which we choose, so they exist before podman creates the bridge and the copy's first packet meets
// them (docs/architecture.md, "Fenced copies").
import { randomBytes } from 'node:crypto';
import { validateContainerRef } from '../podman/names';
import { SnapdebugError } from '../util/errors';
import { isIpv4, type AllowedEgress } from './egress';

/** Our table, family inet (IPv4 and IPv6). */
export const fenceTable = 'snapdebug';
/** Every fenced copy's bridge starts so (15 characters in all: Linux's limit). */
export const fenceInterfacePrefix = 'snapdebug';
export const fenceNetworkPrefix = 'snapdebug-fence-';
/** On a copy: its fence's id. On a fence network: the copy it fences (written by us, never by an archive). */
export const fenceLabel = 'snapdebug.fence';
/** On a copy: what its fence lets through (egress.ts encodeAllowed), for showing. */
export const fenceAllowLabel = 'snapdebug.fence.allow';

const idPattern = /^[0-9a-f]{6}$/;

export interface FenceNames {
  id: string;
  /** The podman network the copy is attached to instead of the original's. */
  network: string;
  /** Its bridge on the debug host. */
  interfaceName: string;
  /** The copy's own chain in our table: what it may reach. */
  chain: string;
}

export function newFenceId(random: () => string = () => randomBytes(3).toString('hex')): string {
  return validateFenceId(random());
}

export function validateFenceId(id: string): string {
  if (!idPattern.test(id)) throw new SnapdebugError(`"${id}" is not a fence id (six hex digits).`);
  return id;
}

export function fenceNames(id: string): FenceNames {
  validateFenceId(id);
  return { id, network: `${fenceNetworkPrefix}${id}`, interfaceName: `${fenceInterfacePrefix}${id}`, chain: `allow_${id}` };
}

/** The id in a fence network's name, or undefined for any other name. */
export function fenceIdOfNetwork(network: string): string | undefined {
  const id = network.startsWith(fenceNetworkPrefix) ? network.slice(fenceNetworkPrefix.length) : '';
  return idPattern.test(id) ? id : undefined;
}

/**
 * The shared part of our table, written so that applying it again changes nothing and never opens
 * anything: `add` keeps what exists, and each chain of ours is flushed and filled in the same
 * transaction (nft -f applies a file atomically), so other copies' fences hold throughout.
 * Established and related packets pass (answers to connections made *to* the copy: published ports,
 * the relays); anything else new from a snapdebug* bridge goes to the copy's own chain through the
 * `allowed` map, and is rejected unless that chain accepted it — also when the copy has no entry.
 */
export function baseRules(): string[] {
  const t = `inet ${fenceTable}`;
  const hook = (name: 'input' | 'forward') => [
    `add chain ${t} ${name} { type filter hook ${name} priority filter - 10 ; policy accept ; }`,
    `flush chain ${t} ${name}`,
    `add rule ${t} ${name} iifname "${fenceInterfacePrefix}*" jump fence`,
  ];
  return [
    `add table ${t}`,
    `add map ${t} allowed { type ifname : verdict ; }`,
    `add chain ${t} fence`,
    `flush chain ${t} fence`,
    `add rule ${t} fence ct state established,related accept`,
    `add rule ${t} fence iifname vmap @allowed`,
    // admin-prohibited: the copy's connect() fails at once with "no route to host", not a 2-minute hang
    `add rule ${t} fence reject with icmpx admin-prohibited`,
    ...hook('input'),
    ...hook('forward'),
  ];
}

/** One copy's chain: exactly its allowances (TCP, address and port), then a counter of what it tried besides. */
export function copyRules(id: string, allowed: readonly AllowedEgress[]): string[] {
  const { chain, interfaceName } = fenceNames(id);
  const t = `inet ${fenceTable}`;
  const accepts = allowed.map((egress) => {
    if (!Number.isInteger(egress.port) || egress.port < 1 || egress.port > 65535) throw new SnapdebugError(`${egress.port} is not a port.`);
    const bad = egress.addresses.find((a) => !isIpv4(a));
    if (bad !== undefined || egress.addresses.length === 0) throw new SnapdebugError(`"${bad ?? ''}" is not an IPv4 address the fence can open.`);
    return `add rule ${t} ${chain} ip daddr { ${egress.addresses.join(', ')} } tcp dport ${egress.port} accept`;
  });
  return [
    `add chain ${t} ${chain}`,
    `flush chain ${t} ${chain}`,
    ...accepts,
    // what falls through here is rejected by the fence chain: counted per copy
    `add rule ${t} ${chain} counter`,
    `add element ${t} allowed { "${interfaceName}" : jump ${chain} }`,
  ];
}

/** The nft file a fence is set up with: the table, then the copy's chain and map entry. */
export function fenceRuleset(id: string, allowed: readonly AllowedEgress[]): string {
  return [...baseRules(), ...copyRules(id, allowed)].join('\n') + '\n';
}

/**
 * `podman network create` flags (the name goes last) for the copy's network: its bridge named by us,
 * no DNS server on it (the copy's names come from /etc/hosts and the host's resolvers, which the
 * fence closes), labelled with the copy. Without a default route (podman 4.7+) the copy reaches
 * nothing beyond its bridge even should our table be flushed; routes to what it may reach are added
 * once the bridge's gateway is known (fence.ts).
 */
export function networkCreateFlags(id: string, copy: string, options: { noDefaultRoute: boolean }): string[] {
  const { interfaceName } = fenceNames(id);
  return [
    '--disable-dns',
    '--interface-name',
    interfaceName,
    '--label',
    `${fenceLabel}=${validateContainerRef(copy)}`,
    ...(options.noDefaultRoute ? ['--opt', 'no_default_route=true'] : []),
  ];
}

/** The distinct addresses a fence opens: each gets a route when the network has no default one. */
export function routedAddresses(allowed: readonly AllowedEgress[]): string[] {
  return [...new Set(allowed.flatMap((a) => a.addresses))];
}
