// Save Heap Snapshot: of a running Node.js copy (CDP HeapProfiler through the tunnel), into the
// store beside its snapshot, then opened in VS Code's heap snapshot viewer.
import { saveHeapSnapshot as saveHeapSnapshotWorkflow } from '../../core';
import type { Command } from './command';
import { runCapture } from './captures';

export const saveHeapSnapshot: Command = {
  id: 'snapdebug.saveHeapSnapshot',
  run: (services, node) =>
    runCapture(services, node, 'node', (copy) => `Heap snapshot of ${copy.host}/${copy.name}`, (copy, control) =>
      saveHeapSnapshotWorkflow(services.core(), { host: copy.host, container: copy.name }, control),
    ),
};
