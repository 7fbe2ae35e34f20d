// How a pull reaches its host: OpenSSH's ssh processes (one stream each) when this machine has ssh
// and it logs in there without a prompt, else ssh2 connections with several channels each. Which
// layout and how many streams were chosen by bench/pull.ts (docs/benchmarks.md, docs/architecture.md).
import type { Core } from '../core';
import type { Host } from '../host';
import { defaultRangesPerLane } from './pull';

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
