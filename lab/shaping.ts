// The link profiles of `npm run lab:link -- wan|lan|off` and what each one becomes, as pure data:
// the relay that carries this machine's SSH to each host (rate and one-way delay per direction,
// lab/relay.ts) and the tc qdiscs on the veth pairs between hosts. This kernel has tbf and htb but
// no netem, so delay can only come from user space: between hosts there is rate, no added delay.

export const linkProfiles = ['off', 'lan', 'wan'] as const;
export type LinkProfile = (typeof linkProfiles)[number];

export interface PathShape {
  rateBitsPerSecond: number;
  /** Round trip the shaping adds; half of it in each direction. */
  roundTripMs: number;
}

export interface ProfileShape {
  /** This machine ↔ each host, each way (undefined: the unshaped socat forwarder). */
  client?: PathShape;
  /** Host ↔ host, each way (rate only: see the file's first lines). */
  hostsRateBitsPerSecond?: number;
}

const megabit = 1_000_000;
const gigabit = 1_000_000_000;

export const profileShapes: Record<LinkProfile, ProfileShape> = {
  off: {},
  // A datacenter's hosts next to each other, reached over one fast network.
  lan: { client: { rateBitsPerSecond: gigabit, roundTripMs: 1 }, hostsRateBitsPerSecond: gigabit },
  // A laptop behind a VPN: 100 Mbit/s, 40 ms away; the hosts still 1 Gbit/s between each other.
  wan: { client: { rateBitsPerSecond: 100 * megabit, roundTripMs: 40 }, hostsRateBitsPerSecond: gigabit },
};

export function parseProfile(word: string | undefined): LinkProfile {
  const profile = linkProfiles.find((p) => p === word);
  if (!profile) throw new Error(`lab link: say one of ${linkProfiles.join(', ')}${word ? ` (not ${word})` : ''}`);
  return profile;
}

/** What the relay of one host is started with. */
export interface RelayShape {
  rateBytesPerSecond: number;
  oneWayDelayMs: number;
  /** Bytes queued on the link per direction before the relay stops reading the sender. */
  queueLimitBytes: number;
}

/** A router-like queue: twice the bandwidth-delay product, never under 256 KiB. */
export function relayShape(path: PathShape): RelayShape {
  const rateBytesPerSecond = path.rateBitsPerSecond / 8;
  const bandwidthDelayBytes = (rateBytesPerSecond * path.roundTripMs) / 1000;
  return { rateBytesPerSecond, oneWayDelayMs: path.roundTripMs / 2, queueLimitBytes: Math.max(256 * 1024, Math.ceil(2 * bandwidthDelayBytes)) };
}

/**
 * tc arguments for one veth end's egress: a token bucket at the rate. Its burst must hold at least
 * one timer tick of traffic (rate ÷ HZ, HZ ≤ 1000) and a whole GSO packet (64 KiB).
 */
export function tbfArgs(device: string, rateBitsPerSecond: number): string[] {
  const burstBytes = Math.max(64 * 1024 * 2, Math.ceil(rateBitsPerSecond / 8 / 1000) * 2);
  return ['qdisc', 'replace', 'dev', device, 'root', 'tbf', 'rate', `${rateBitsPerSecond}bit`, 'burst', String(burstBytes), 'latency', '20ms'];
}

export function clearQdiscArgs(device: string): string[] {
  return ['qdisc', 'del', 'dev', device, 'root'];
}

/** One tc call, in the hub's namespace (its end of a host's veth) or the host's (eth-lab). */
export interface QdiscStep {
  where: 'hub' | { host: string };
  args: string[];
  /** `qdisc del` fails where no qdisc of ours was set: that failure means nothing to undo. */
  mayFail: boolean;
}

/**
 * The tc calls that give the host ↔ host link its rate: each host's veth is shaped on both ends
 * (the hub's end is what reaches the host, the host's end what leaves it), so every direction
 * between any two hosts passes one token bucket at each end.
 */
export function qdiscPlan(profile: LinkProfile, hosts: readonly string[], hubLink: (host: string) => string, hostLink: string): QdiscStep[] {
  const rate = profileShapes[profile].hostsRateBitsPerSecond;
  return hosts.flatMap((host): QdiscStep[] => {
    const ends: QdiscStep['where'][] = ['hub', { host }];
    return ends.map((where) => {
      const device = where === 'hub' ? hubLink(host) : hostLink;
      return rate === undefined ? { where, args: clearQdiscArgs(device), mayFail: true } : { where, args: tbfArgs(device, rate), mayFail: false };
    });
  });
}
