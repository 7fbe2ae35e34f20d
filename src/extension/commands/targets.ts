// One resolver for palette and tree invocations: the clicked node when there is one, else a
// picker. Each returns undefined when the user dismisses the question.
import type { CopyInfo, SnapshotMeta } from '../../core';
import type { Services } from '../services';
import { CopyNode } from '../tree/copiesTree';
import { ContainerNode, HostNode, type ContainerInfo } from '../tree/hostsTree';
import { SnapshotNode } from '../tree/snapshotsTree';
import { pickContainer, pickCopy, pickHost, pickSnapshot } from './pickers';

export async function hostTarget(services: Services, node: unknown): Promise<string | undefined> {
  if (node instanceof HostNode) return node.name;
  if (node instanceof ContainerNode) return node.info.host;
  return pickHost(services, 'Host');
}

export async function containerTarget(services: Services, node: unknown, want: (c: ContainerInfo) => boolean, placeHolder: string): Promise<ContainerInfo | undefined> {
  if (node instanceof ContainerNode) return node.info;
  return pickContainer(services, want, placeHolder);
}

export async function snapshotTarget(services: Services, node: unknown, placeHolder: string, kinds: SnapshotMeta['kind'][] = ['checkpoint']): Promise<SnapshotMeta | undefined> {
  if (node instanceof SnapshotNode) return node.meta;
  return pickSnapshot(services, placeHolder, kinds);
}

/** A copy from the Copies view, or a copy container from the Hosts view, or picked. */
export async function copyTarget(services: Services, node: unknown): Promise<CopyInfo | undefined> {
  if (node instanceof CopyNode) return node.copy;
  if (node instanceof ContainerNode && node.info.copyOf) {
    const info = node.info;
    return { host: info.host, name: info.name, id: info.id, state: info.state, snapshot: info.copyOf!, source: undefined };
  }
  return pickCopy(services);
}

export const isRunning = (c: ContainerInfo) => c.state === 'running';
export const isCheckpointed = (c: ContainerInfo) => c.checkpointed && c.state !== 'running';
