// Inspect: `podman inspect` of a container or copy, or a snapshot's metadata, as read-only JSON.
import { inspectContainer } from '../../core';
import { showError } from '../progress';
import { CopyNode } from '../tree/copiesTree';
import { SnapshotNode } from '../tree/snapshotsTree';
import type { Command } from './command';
import { containerTarget } from './targets';

export const inspect: Command = {
  id: 'snapdebug.inspect',
  async run(services, node) {
    if (node instanceof SnapshotNode) {
      await services.documents.show(`${node.meta.id}.json`, JSON.stringify(node.meta, null, 2), 'json');
      return;
    }
    const target = node instanceof CopyNode ? { host: node.copy.host, name: node.copy.name } : await containerTarget(services, node, () => true, 'Container to inspect');
    if (!target) return;
    try {
      const json = await inspectContainer(services.core(), target.host, target.name);
      await services.documents.show(`${target.host}-${target.name}.json`, json, 'json');
    } catch (error) {
      await showError(services, `Inspect ${target.name}`, error);
    }
  },
};
