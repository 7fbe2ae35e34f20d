// Show Environment Values: a process's environment, read from the snapshot only when asked and
// shown in a read-only document (the tree shows names only). Values are secrets: never logged.
import { inspectSnapshot, snapshotArchiveFile } from '../../core';
import { runLong } from '../progress';
import { GroupNode, ProcessNode } from '../tree/snapshotContents';
import type { Command } from './command';

export const showEnvironment: Command = {
  id: 'snapdebug.showEnvironment',
  async run(services, node) {
    if (!(node instanceof GroupNode || node instanceof ProcessNode)) return;
    const { meta, process } = node;
    const outcome = await runLong(services, `Environment of process ${process.pid}`, (control) =>
      inspectSnapshot(snapshotArchiveFile(services.core(), meta), { env: true, ...(control.signal && { signal: control.signal }) }),
    );
    if (outcome.status !== 'done') return;
    const env = outcome.value.processes.find((p) => p.pid === process.pid)?.env ?? {};
    const text = [`# environment of process ${process.pid} (${process.command}) in ${meta.id}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ''].join('\n');
    await services.documents.show(`environment-${meta.id}-${process.pid}.env`, text, 'properties');
  },
};
