// Attach Debugger: to a copy that already runs (after its first session ended, or from the CLI).
import { attachToCopy as attachWorkflow } from '../../core';
import { startDebugger } from '../debug/startDebugger';
import { runLong } from '../progress';
import type { Command } from './command';
import { copyTarget } from './targets';

export const attachToCopy: Command = {
  id: 'snapdebug.attachToCopy',
  async run(services, node) {
    const copy = await copyTarget(services, node);
    if (!copy) return;
    const runtime = services.settings().debug.runtime;
    const outcome = await runLong(services, `Attach to ${copy.host}/${copy.name}`, (control) =>
      attachWorkflow(services.core(), { host: copy.host, container: copy.name, ...(runtime && { runtime }) }, control),
    );
    if (outcome.status !== 'done') return;
    const attached = outcome.value;
    await startDebugger(services, {
      host: copy.host,
      copy: copy.name,
      runtime: attached.target.runtime,
      ...(attached.attach && { attach: attached.attach }),
      ...(attached.gdb && { gdb: attached.gdb }),
      close: attached.close,
    });
  },
};
