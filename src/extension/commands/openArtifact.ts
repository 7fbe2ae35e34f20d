// Open: a file taken from a copy, from the Snapshots view (also what a click on it runs).
import type { Command } from './command';
import { ArtifactNode } from '../tree/snapshotsTree';
import { openArtifactFile } from './captures';

export const openArtifact: Command = {
  id: 'snapdebug.openArtifact',
  async run(_services, node) {
    if (node instanceof ArtifactNode) await openArtifactFile(node.artifact);
  },
};
