// The Hosts view's refresh as bench/tree.ts measures it, run in the child: every host's
// `podman ps --all` in parallel over the pooled connections (as src/extension/tree/hostsTree.ts
// fetches), first from a fresh core (cold: connections opened), then again on the same core (warm).
import { createCore } from '../../src/core/core';
import { podman } from '../../src/core/podman/commands';
import { refusePrompts } from './pullTasks';

export interface ListTask {
  kind: 'list';
  sshConfig: string;
  hosts: string[];
  warmRepeats: number;
}

export interface ListResult {
  coldMs: number;
  warmMs: number[];
  /** The first host alone, warm: what one host's podman answers in when it has the CPU to itself. */
  oneHostWarmMs: number[];
  containers: number;
}

export async function listHosts(task: ListTask): Promise<ListResult> {
  const started = performance.now();
  const core = createCore({ sshConfigFile: task.sshConfig, prompts: refusePrompts });
  const listAll = async () => (await Promise.all(task.hosts.map((h) => core.hosts.get(h).podman(podman.ps())))).reduce((n, list) => n + list.length, 0);
  try {
    const containers = await listAll();
    const coldMs = performance.now() - started;
    const warmMs: number[] = [];
    for (let i = 0; i < task.warmRepeats; i++) {
      const again = performance.now();
      await listAll();
      warmMs.push(performance.now() - again);
    }
    const oneHostWarmMs: number[] = [];
    for (let i = 0; i < task.warmRepeats; i++) {
      const again = performance.now();
      await core.hosts.get(task.hosts[0]!).podman(podman.ps());
      oneHostWarmMs.push(performance.now() - again);
    }
    return { coldMs, warmMs, oneHostWarmMs, containers };
  } finally {
    core.dispose();
  }
}
