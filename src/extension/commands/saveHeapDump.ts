// Save Heap Dump: `jcmd GC.heap_dump` in a running Java copy (as the JVM's user), streamed into
// the store beside its snapshot and removed from the copy. Needs no JDWP agent.
import { saveHeapDump as saveHeapDumpWorkflow } from '../../core';
import type { Command } from './command';
import { runCapture } from './captures';

export const saveHeapDump: Command = {
  id: 'snapdebug.saveHeapDump',
  run: (services, node) =>
    runCapture(services, node, 'java', (copy) => `Heap dump of ${copy.host}/${copy.name}`, (copy, control) =>
      saveHeapDumpWorkflow(services.core(), { host: copy.host, container: copy.name }, control),
    ),
};
