// How a pull reaches its host: OpenSSH's ssh processes (one stream each) when this machine has ssh
// and it logs in there without a prompt, else ssh2 connections with several channels each. Which
// layout and how many streams were chosen by bench/pull.ts (docs/benchmarks.md, docs/architecture.md).
import type { Core } from '../core';
import type { Host } from '../host';
import { OpenSshLoginRefused } from '../ssh/opensshRunner';
import { defaultRangesPerLane, pullFile } from './pull';
import type { Received } from './transfer';

export interface PullLayout {
  lanes: Host[];
  rangesPerLane: number;
  via: 'openssh' | 'ssh2';
}

export async function pullLayout(core: Core, hostName: string, signal?: AbortSignal): Promise<PullLayout> {
  const { lanes, via } = await core.hosts.bulkLanes(hostName, core.settings.opensshStreams, signal);
  if (via === 'openssh') return { lanes, rangesPerLane: 1, via };
  // ssh2: one stream per connection would leave most of its time waiting on windows (pull.ts).
  return { lanes: core.hosts.lanes(hostName, core.settings.transferLanes), rangesPerLane: defaultRangesPerLane, via };
}

type PullOptions = Omit<Parameters<typeof pullFile>[3], 'rangesPerLane'>;

/**
 * pullFile laid out by pullLayout (or the layout given, learnt earlier). Should ssh turn out unable
 * to log in on its first stream, the host's bulk reads go to ssh2 from then on (one log line) and
 * the pull starts again over ssh2.
 */
export async function pullFrom(core: Core, hostName: string, remotePath: string, dest: string, options: PullOptions & { layout?: Promise<PullLayout> }): Promise<Received> {
  const { layout: given, ...pullOptions } = options;
  const pullWith = (layout: PullLayout) => pullFile(layout.lanes, remotePath, dest, { ...pullOptions, rangesPerLane: layout.rangesPerLane });
  try {
    return await pullWith(await (given ?? pullLayout(core, hostName, options.signal)));
  } catch (error) {
    if (!(error instanceof OpenSshLoginRefused)) throw error;
    core.hosts.refuseOpenSsh(hostName, error.reason);
    return pullWith(await pullLayout(core, hostName, options.signal));
  }
}
