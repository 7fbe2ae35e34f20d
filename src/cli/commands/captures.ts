// What the CLI takes from a running copy, saved in the store beside its snapshot: `heap` (a
// .heapsnapshot of a Node.js copy, an .hprof of a Java one), `profile` (a .cpuprofile of a
// Node.js copy) and `threads` (a Java thread dump). Each prints the file it wrote.
import { maxProfileSeconds, recordCpuProfile, saveHeap, saveThreadDump, type Capture } from '../../core';
import { parseContainerAddress } from '../../core/podman/names';
import { formatBytes } from '../../core/util/format';
import { SnapdebugError } from '../../core/util/errors';
import { stringOption, type CliCommand, type CliContext } from '../context';

function report(context: CliContext, capture: Capture): void {
  const { artifact } = capture;
  context.out.result(
    { host: capture.host, copy: capture.copy, runtime: capture.runtime, snapshot: artifact.snapshot, kind: artifact.kind, path: artifact.path, bytes: artifact.size },
    () => `${artifact.path} (${formatBytes(artifact.size)})`,
  );
}

function copyOf(context: CliContext): { host: string; container: string } {
  return parseContainerAddress(context.positionals[0]!);
}

export const heapCommand: CliCommand = {
  name: 'heap',
  usage: 'heap HOST/COPY',
  summary: 'Save the heap of a copy into the store: a heap snapshot (Node.js) or heap dump (Java)',
  options: {},
  positionals: [1, 1],
  async run(context) {
    report(context, await saveHeap(context.core, copyOf(context), { signal: context.signal, progress: (e) => context.out.progress(e) }));
  },
};

export const profileCommand: CliCommand = {
  name: 'profile',
  usage: 'profile HOST/COPY --seconds N',
  summary: 'Record a CPU profile of a Node.js copy for N seconds into the store',
  options: { seconds: { type: 'string', help: `how long to record (default 10, at most ${maxProfileSeconds})` } },
  positionals: [1, 1],
  async run(context) {
    const text = stringOption(context.values, 'seconds') ?? '10';
    const seconds = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0 || seconds > maxProfileSeconds) {
      throw new SnapdebugError(`--seconds ${text}: give a number of seconds from 0.1 to ${maxProfileSeconds}.`);
    }
    report(context, await recordCpuProfile(context.core, { ...copyOf(context), seconds }, { signal: context.signal, progress: (e) => context.out.progress(e) }));
  },
};

export const threadsCommand: CliCommand = {
  name: 'threads',
  usage: 'threads HOST/COPY',
  summary: 'Save a thread dump of a Java copy (jcmd Thread.print) into the store',
  options: {},
  positionals: [1, 1],
  async run(context) {
    report(context, await saveThreadDump(context.core, copyOf(context), { signal: context.signal, progress: (e) => context.out.progress(e) }));
  },
};
