// Snapshot Report: a picture of what a snapshot holds — the process tree drawn, memory per
// process, CRIU's phases — in a webview (report/), for when people would rather look than read.
import { runLong } from '../progress';
import { openReportPanel } from '../report/reportPanel';
import type { Command } from './command';
import { snapshotTarget } from './targets';

export const snapshotReport: Command = {
  id: 'snapdebug.snapshotReport',
  async run(services, node) {
    const meta = await snapshotTarget(services, node, 'Snapshot to report on');
    if (!meta) return;
    const outcome = await runLong(services, `Snapshot Report of ${meta.source.container}`, () => services.views.snapshots.contents.get(meta));
    if (outcome.status === 'done') openReportPanel(meta, outcome.value);
  },
};
