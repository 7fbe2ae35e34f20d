// What can be taken from a running copy without a debugger session, saved in the store beside the
// snapshot it came from (snapshot/artifacts.ts): a heap snapshot or CPU profile of a Node.js copy
// (CDP HeapProfiler / Profiler through the tunnel), a thread dump or heap dump of a Java copy
// (jcmd, run inside the copy as the JVM's own user, never privileged). Only copies: production's
// memory is read through snapshots, never by poking the live process.
import { randomBytes } from 'node:crypto';
import type { Core, WorkControl } from '../core';
import type { Host } from '../host';
import { createArtifact, type Artifact, type ArtifactKind, type ArtifactWriter } from '../snapshot/artifacts';
import { originLabel } from '../snapshot/restore';
import { inspectOne } from '../snapshot/checkpoint';
import { throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { noProgress } from '../util/progress';
import { findDebugTarget, prepareNode, type DebugTarget, type Runtime } from './attach';
import { connectCdp, type CdpSession } from './cdp';
import { heapDumpToStore, jcmdIn } from './jcmd';
import { openTunnel } from './tunnel';

export interface CaptureRequest {
  host: string;
  /** A copy restored by snapdebug. */
  container: string;
}

export interface Capture {
  host: string;
  copy: string;
  runtime: Runtime;
  artifact: Artifact;
}

/** The copy's snapshot id, from its label; anything without it is refused. */
async function copyOrigin(host: Host, container: string, signal?: AbortSignal): Promise<{ snapshot: string; env: string[] }> {
  const entry = await inspectOne(host, container, signal);
  const snapshot = entry.Config.Labels[originLabel];
  if (!snapshot) {
    throw new SnapdebugError(`${container} on ${host.name} is not a copy restored by snapdebug (no ${originLabel} label).`, {
      fix: { text: 'Memory is taken from copies only, never from production: restore a copy of a snapshot first (Snapshot & Debug does).' },
    });
  }
  if (!entry.State.Running) throw new SnapdebugError(`${container} on ${host.name} is ${entry.State.Status}: start it first.`);
  return { snapshot, env: entry.Config.Env ?? [] };
}

async function withArtifact(core: Core, snapshot: string, request: CaptureRequest, kind: ArtifactKind, write: (writer: ArtifactWriter) => Promise<void>): Promise<Artifact> {
  const writer = createArtifact(core.store, snapshot, request.container, kind);
  try {
    await write(writer);
    const artifact = await writer.commit();
    // Process memory (or what a thread held) now rests in the store, as an archive does: the audit log says so.
    core.store.audit.record({ action: 'capture', host: request.host, container: request.container, snapshot, detail: `${kind} ${artifact.name}` });
    return artifact;
  } catch (error) {
    writer.discard();
    throw error;
  }
}

/** A CDP session with the copy's Node.js inspector, through a tunnel on a lane of its own. */
async function withInspector<T>(core: Core, request: CaptureRequest, target: DebugTarget, control: WorkControl, use: (cdp: CdpSession) => Promise<T>): Promise<T> {
  const host = core.hosts.get(request.host);
  const port = await prepareNode(host, target, control.signal);
  const [, lane] = core.hosts.lanes(request.host, 2);
  const tunnel = await openTunnel(lane ?? host, target.hostPid, port, { log: core.log });
  try {
    const cdp = await connectCdp(tunnel.port, control.signal);
    try {
      return await use(cdp);
    } finally {
      cdp.close();
    }
  } finally {
    await tunnel.close();
  }
}

async function nodeTarget(core: Core, request: CaptureRequest, control: WorkControl): Promise<{ snapshot: string; target: DebugTarget }> {
  const host = core.hosts.get(request.host);
  const { snapshot } = await copyOrigin(host, request.container, control.signal);
  const target = await findDebugTarget(host, request.container, 'node');
  return { snapshot, target };
}

/** HeapProfiler.takeHeapSnapshot: the chunks are written to the store as they arrive. */
export async function saveHeapSnapshot(core: Core, request: CaptureRequest, control: WorkControl = {}): Promise<Capture> {
  const progress = control.progress ?? noProgress;
  const { snapshot, target } = await nodeTarget(core, request, control);
  progress({ phase: 'capture', message: `Heap snapshot of ${request.container} on ${request.host}` });
  const artifact = await withInspector(core, request, target, control, (cdp) =>
    withArtifact(core, snapshot, request, 'heapsnapshot', async (writer) => {
      let bytes = 0;
      const chunks = cdp.on('HeapProfiler.addHeapSnapshotChunk', (params) => {
        const chunk = (params as { chunk: string }).chunk;
        bytes += Buffer.byteLength(chunk);
        writer.stream.write(chunk);
        progress({ phase: 'capture', message: `Heap snapshot of ${request.container}`, bytes });
      });
      try {
        await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: true });
      } finally {
        chunks();
      }
    }),
  );
  core.log(`heap snapshot of ${request.host}/${request.container}: ${artifact.path}`);
  return { host: request.host, copy: request.container, runtime: 'node', artifact };
}

export const maxProfileSeconds = 3600;

/** Profiler.start, N seconds (cancellable: a cancel saves nothing), Profiler.stop. */
export async function recordCpuProfile(core: Core, request: CaptureRequest & { seconds: number }, control: WorkControl = {}): Promise<Capture> {
  if (!Number.isFinite(request.seconds) || request.seconds <= 0 || request.seconds > maxProfileSeconds) {
    throw new SnapdebugError(`A CPU profile lasts from a fraction of a second to ${maxProfileSeconds} s, not ${request.seconds}.`);
  }
  const progress = control.progress ?? noProgress;
  const { snapshot, target } = await nodeTarget(core, request, control);
  const artifact = await withInspector(core, request, target, control, async (cdp) => {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
    let profile: unknown;
    try {
      progress({ phase: 'capture', message: `Recording a CPU profile of ${request.container} for ${request.seconds} s` });
      await sleep(request.seconds * 1000, control.signal);
    } finally {
      // Stopped in every outcome: a profiler left running would slow the copy down.
      profile = (await cdp.send<{ profile: unknown }>('Profiler.stop').catch(() => ({ profile: undefined }))).profile;
      await cdp.send('Profiler.disable').catch(() => undefined);
    }
    throwIfAborted(control.signal);
    if (!profile) throw new SnapdebugError(`The inspector of ${request.container} returned no profile.`);
    return withArtifact(core, snapshot, request, 'cpuprofile', async (writer) => {
      writer.stream.end(JSON.stringify(profile));
    });
  });
  core.log(`CPU profile of ${request.host}/${request.container} (${request.seconds} s): ${artifact.path}`);
  return { host: request.host, copy: request.container, runtime: 'node', artifact };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

async function javaTarget(core: Core, request: CaptureRequest, control: WorkControl): Promise<{ snapshot: string; target: DebugTarget }> {
  const host = core.hosts.get(request.host);
  const { snapshot } = await copyOrigin(host, request.container, control.signal);
  return { snapshot, target: await findDebugTarget(host, request.container, 'java') };
}

/** `jcmd PID Thread.print` in the copy, as the JVM's user: the text, saved beside the snapshot. */
export async function saveThreadDump(core: Core, request: CaptureRequest, control: WorkControl = {}): Promise<Capture> {
  const { snapshot, target } = await javaTarget(core, request, control);
  (control.progress ?? noProgress)({ phase: 'capture', message: `Thread dump of ${request.container} on ${request.host}` });
  const text = await jcmdIn(core.hosts.get(request.host), request.container, target, ['Thread.print', '-l'], control.signal);
  const artifact = await withArtifact(core, snapshot, request, 'threads', async (writer) => {
    writer.stream.end(text);
  });
  core.log(`thread dump of ${request.host}/${request.container}: ${artifact.path}`);
  return { host: request.host, copy: request.container, runtime: 'java', artifact };
}

/** The heap of a copy: an HPROF dump for Java (jcmd GC.heap_dump), a heap snapshot for Node.js. */
export async function saveHeap(core: Core, request: CaptureRequest, control: WorkControl = {}): Promise<Capture> {
  const target = await findDebugTarget(core.hosts.get(request.host), request.container);
  if (target.runtime === 'node') return saveHeapSnapshot(core, request, control);
  if (target.runtime === 'java') return saveHeapDump(core, request, control);
  throw new SnapdebugError(`${request.container} runs ${target.command.split(' ')[0]}: heap snapshots are taken of Node.js and Java copies.`);
}

/** `jcmd PID GC.heap_dump` into the copy's /tmp, streamed into the store, removed from the copy. */
export async function saveHeapDump(core: Core, request: CaptureRequest, control: WorkControl = {}): Promise<Capture> {
  const { snapshot, target } = await javaTarget(core, request, control);
  const host = core.hosts.get(request.host);
  const progress = control.progress ?? noProgress;
  progress({ phase: 'capture', message: `Heap dump of ${request.container} on ${request.host}` });
  const inCopy = `/tmp/snapdebug-heap-${randomBytes(8).toString('hex')}.hprof`;
  const artifact = await withArtifact(core, snapshot, request, 'hprof', (writer) =>
    heapDumpToStore(host, request.container, target, inCopy, writer.stream, { ...control, progress }),
  );
  core.log(`heap dump of ${request.host}/${request.container}: ${artifact.path}`);
  return { host: request.host, copy: request.container, runtime: 'java', artifact };
}
