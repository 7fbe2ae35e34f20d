// `npm run lab:link -- wan|lan|off`: applies a link profile (lab/shaping.ts) to the running lab —
// each host's forwarder replaced (socat unshaped, the relay shaped) and the token buckets on the
// veth pairs between hosts set or removed — and remembers it in the lab's state for lab:status and
// for hosts started later.
import { replaceForwarder } from './hosts';
import { hostLinkName, hubLinkName, inNetns } from './network';
import { profileShapes, qdiscPlan, relayShape, type LinkProfile } from './shaping';
import { readState, writeState, type LabRunState } from './state';

export function describeProfile(profile: LinkProfile): string {
  const shape = profileShapes[profile];
  if (!shape.client) return `${profile} (unshaped)`;
  const mbit = (bits: number) => (bits >= 1e9 ? `${bits / 1e9} Gbit/s` : `${bits / 1e6} Mbit/s`);
  const hosts = shape.hostsRateBitsPerSecond ? mbit(shape.hostsRateBitsPerSecond) : 'unshaped';
  return `${profile} (this machine ↔ each host ${mbit(shape.client.rateBitsPerSecond)} each way, ${shape.client.roundTripMs} ms round trip; host ↔ host ${hosts}, no added delay)`;
}

/** Shapes the given hosts of a running lab to `profile` and records it in `state`. */
export async function shapeHosts(state: LabRunState, profile: LinkProfile, hostNames: readonly string[]): Promise<void> {
  const client = profileShapes[profile].client;
  const relay = client && relayShape(client);
  for (const [index, host] of state.hosts.entries()) {
    if (!hostNames.includes(host.name)) continue;
    state.hosts[index] = await replaceForwarder(host, relay);
    writeState(state); // the new forwarder's PID, before anything else can fail
  }
  const hub = state.hub;
  if (!hub) throw new Error('the lab has no link hub: `npm run lab:down && npm run lab:up` starts one');
  for (const step of qdiscPlan(profile, hostNames, hubLinkName, hostLinkName)) {
    const pid = step.where === 'hub' ? hub.pid : state.hosts.find((h) => h.name === (step.where as { host: string }).host)!.init.pid;
    await inNetns(pid, 'tc', step.args).catch((error: unknown) => {
      if (!step.mayFail) throw error;
    });
  }
  state.link = profile;
  writeState(state);
}

export async function labLink(profile: LinkProfile, say: (line: string) => void): Promise<void> {
  const state = readState();
  if (!state) throw new Error('the lab is not running: `npm run lab:up` first');
  await shapeHosts(state, profile, state.hosts.map((h) => h.name));
  say(`lab link: ${describeProfile(profile)}`);
  say('SSH connections open through the old forwarders were closed');
}
