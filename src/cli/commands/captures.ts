// What the CLI takes from a running copy, saved in the store beside its snapshot: `heap` (a
// .heapsnapshot of a Node.js copy, an .hprof of a Java one), `profile` (a .cpuprofile of a
// Node.js copy) and `threads` (a Java thread dump). Each prints the file it wrote.
import { SnapdebugError, formatBytes, maxProfileSeconds, recordCpuProfile, saveHeap, saveThreadDump, type Capture } from '../../core';
import { containerArgument, defineCommand, stringOption, type CliContext } from '../context';

function report(context: CliContext, capture: Capture): void {
  const { artifact } = capture;
  context.out.result(
    { host: capture.host, copy: capture.copy, runtime: capture.runtime, snapshot: artifact.snapshot, kind: artifact.kind, path: artifact.path, bytes: artifact.size },
    () => `${artifact.path} (${formatBytes(artifact.size)})`,
  );
}

const defaultProfileSeconds = 10;

/** --seconds: a plain number of seconds, more than zero and at most maxProfileSeconds. */
function secondsOption(text: string | undefined): number {
  if (text === undefined) return defaultProfileSeconds;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0 || seconds > maxProfileSeconds) {
    throw new SnapdebugError(`--seconds ${text}: give a number of seconds from 0.1 to ${maxProfileSeconds}.`);
  }
  return seconds;
}

export const heapCommand = defineCommand({
  name: 'heap',
  usage: 'heap HOST/COPY',
  summary: 'Save the heap of a copy into the store: a heap snapshot (Node.js) or heap dump (Java)',
  options: {},
  positionals: [1, 1],
  parse: ({ positionals }) => containerArgument(positionals[0]!),
  async run(context, request) {
    report(context, await saveHeap(context.core, request, { signal: context.signal, progress: (e) => context.out.progress(e) }));
  },
});

export const profileCommand = defineCommand({
  name: 'profile',
  usage: 'profile HOST/COPY [--seconds N]',
  summary: 'Record a CPU profile of a Node.js copy for N seconds into the store',
  options: { seconds: { type: 'string', value: 'N', help: `how long to record (default ${defaultProfileSeconds}, at most ${maxProfileSeconds})` } },
  positionals: [1, 1],
  parse: ({ positionals, values }) => ({ ...containerArgument(positionals[0]!), seconds: secondsOption(stringOption(values, 'seconds')) }),
  async run(context, request) {
    report(context, await recordCpuProfile(context.core, request, { signal: context.signal, progress: (e) => context.out.progress(e) }));
  },
});

export const threadsCommand = defineCommand({
  name: 'threads',
  usage: 'threads HOST/COPY',
  summary: 'Save a thread dump of a Java copy (jcmd Thread.print) into the store',
  options: {},
  positionals: [1, 1],
  parse: ({ positionals }) => containerArgument(positionals[0]!),
  async run(context, request) {
    report(context, await saveThreadDump(context.core, request, { signal: context.signal, progress: (e) => context.out.progress(e) }));
  },
});
