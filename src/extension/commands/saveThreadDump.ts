// Save Thread Dump: `jcmd Thread.print` in a running Java copy (as the JVM's user), into the store
// beside its snapshot, then opened as text. Needs no JDWP agent.
import { saveThreadDump as saveThreadDumpWorkflow } from '../../core';
import type { Command } from './command';
import { runCapture } from './captures';

export const saveThreadDump: Command = {
  id: 'snapdebug.saveThreadDump',
  run: (services, node) =>
    runCapture(services, node, 'java', (copy) => `Thread dump of ${copy.host}/${copy.name}`, (copy, control) =>
      saveThreadDumpWorkflow(services.core(), { host: copy.host, container: copy.name }, control),
    ),
};
