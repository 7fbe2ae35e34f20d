// checkpoint: HOST/CONTAINER into the local store. By default the container keeps running
// (--leave-running) and the archive streams straight out of podman (streamCheckpoint.ts) into a
// `.part` file, hashed on both ends, then renamed: no archive ever rests on the source host.
// With the `file` transport the archive goes to a file in the work's folder on the host first,
// pulled in parallel byte ranges. Either way it runs as a remote work (remote/work.ts): should this
// client vanish, the host ends the checkpoint and removes everything it left.
import { PassThrough } from 'node:stream';
import { rmSync } from 'node:fs';
import { ArchiveInspector, inspectArchiveFile, type Compression } from '../archive/checkpointArchive';
import type { CopyRewrite } from '../archive/relabel';
import type { Core, WorkControl } from '../core';
import type { Host, HostCapabilities } from '../host';
import { podman } from '../podman/commands';
import { checkpointFlags, exportOption, validateCheckpointOptions, type CheckpointOptions } from '../podman/options';
import type { InspectEntry } from '../podman/schemas';
import { phaseTracker, withCleanup } from '../remote/failure';
import { prelude } from '../remote/shellLib';
import type { RemoteWork } from '../remote/work';
import { throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { formatBytes } from '../util/format';
import { removeCheckpointImages, underCheckpointLock } from './checkpointImages';
import { pullFrom, pullLayout } from './pullLanes';
import { pushArchive, type PushedArchive } from './push';
import type { SnapshotMeta } from './store';
import { startStreamingCheckpoint, streamFifoName } from './streamCheckpoint';
import { receiveHashed } from './transfer';

export interface CheckpointRequest {
  host: string;
  container: string;
  options: CheckpointOptions;
  /** For --with-previous: the pre-checkpoint snapshot this one builds on. */
  previous?: string;
  /** The work on the source this checkpoint is part of (a migration's); its owner finishes it. */
  work?: RemoteWork;
}

/** A streamed checkpoint cut off by a dropped link: it cannot resume, only be taken again. */
export class StreamInterruptedError extends SnapdebugError {}

export async function inspectOne(host: Host, container: string, signal?: AbortSignal): Promise<InspectEntry> {
  const [entry] = await host.podman(podman.inspect([container]), signal ? { signal } : {});
  if (!entry) throw new SnapdebugError(`There is no container "${container}" on ${host.name}.`);
  return entry;
}

function compressionOf(options: CheckpointOptions): Compression {
  return options.compress ?? 'zstd'; // podman's own default
}

export async function checkpoint(core: Core, request: CheckpointRequest, control: WorkControl = {}): Promise<SnapshotMeta> {
  return (await checkpointAndSend(core, request, undefined, control)).meta;
}

/** Where Snapshot & Debug sends the archive while it is still arriving in the store. */
export interface SendAlongside {
  /** The restore's work on the debug host, and the file in its folder. */
  work: RemoteWork;
  path: string;
  /** What the copy's archive gains (labels, annotations), given the new snapshot's id. */
  rewriteFor: (snapshotId: string) => CopyRewrite;
}

/** Arguments: sudo|root, file. Creates an empty file in a folder of ours, never over anything. */
const newEmptyFileScript = `${prelude}
d=\${1%/*}
ours "$d" || exit 2
set -C
: > "$1"
`;

/** What a snapshot records of its source container (the archive's own image facts win). */
export function snapshotSource(host: string, entry: InspectEntry, archive: { imageName?: string; imageId?: string; runtime?: string } = {}): SnapshotMeta['source'] {
  const ports = Object.entries(entry.HostConfig?.PortBindings ?? {})
    .filter(([, bindings]) => bindings && bindings.length > 0)
    .map(([port]) => port);
  const volumes = (entry.Mounts ?? []).flatMap((mount) => (mount.Type === 'volume' && mount.Name ? [mount.Name] : []));
  const mounts = (entry.Mounts ?? []).flatMap((m) =>
    (m.Type === 'bind' || m.Type === 'volume') && m.Source ? [{ type: m.Type, source: m.Source, destination: m.Destination, rw: m.RW ?? true }] : [],
  );
  return {
    host,
    container: entry.Name,
    containerId: entry.Id,
    image: archive.imageName ?? entry.ImageName ?? entry.Image,
    imageId: archive.imageId ?? entry.Image,
    ...(ports.length > 0 && { ports }),
    ...(volumes.length > 0 && { volumes }),
    ...((archive.runtime ?? entry.OCIRuntime) && { runtime: archive.runtime ?? entry.OCIRuntime }),
    ...(mounts.length > 0 && { mounts }),
  };
}

/**
 * What a checkpoint of `entry` will record, before it is taken: a restore is planned from it while
 * production still runs (Snapshot & Debug, migrate), and the snapshot's own metadata replaces it.
 */
export function plannedSnapshot(host: string, entry: InspectEntry, caps: Pick<HostCapabilities, 'podmanVersion' | 'info'>, options: CheckpointOptions): SnapshotMeta {
  return {
    id: 'planned',
    kind: 'checkpoint',
    createdAt: new Date().toISOString(),
    source: snapshotSource(host, entry),
    podmanVersion: caps.podmanVersion,
    cgroupVersion: caps.info.host.cgroupVersion,
    options,
    compression: 'zstd',
    archive: '',
    size: 0,
    sha256: '',
    sourceLeftRunning: options.leaveRunning === true,
    timings: { checkpointMs: 0, totalMs: 0 },
  };
}

/**
 * A checkpoint that also feeds another host in the same pass (streaming transport only): the
 * bytes leaving the source go both into the store and, relabelled, to a temporary file on `to`.
 * One at a time per container: podman 5.4 races two checkpoints of one container (both exit 0,
 * and one archive lacks config.dump and spec.dump), so a second waits for the first.
 */
export async function checkpointAndSend(
  core: Core,
  request: CheckpointRequest,
  alongside: SendAlongside | undefined,
  control: WorkControl = {},
): Promise<{ meta: SnapshotMeta; pushed?: PushedArchive }> {
  return core.locks.run(`checkpoint ${request.host}/${request.container}`, () => checkpointNow(core, request, alongside, control), control.signal);
}

async function checkpointNow(
  core: Core,
  request: CheckpointRequest,
  alongside: SendAlongside | undefined,
  control: WorkControl,
): Promise<{ meta: SnapshotMeta; pushed?: PushedArchive }> {
  const { signal } = control;
  const tracker = phaseTracker(control.progress);
  const progress = tracker.sink;
  const started = Date.now();
  const options = request.options;
  validateCheckpointOptions(options);

  progress({ phase: 'connect', message: `Connecting to ${request.host}` });
  const host = core.hosts.get(request.host);
  const caps = await host.capabilities();
  await host.requireFlags('checkpoint', [...checkpointFlags(options), exportOption]);
  if (caps.info.host.security.rootless) {
    throw new SnapdebugError(`podman on ${request.host} runs rootless, and CRIU checkpoints need rootful podman.`, {
      fix: { text: `Connect as root, or run podman through sudo on ${request.host} (passwordless sudo needed).`, options: [{ name: 'sudo' }] },
    });
  }
  const before = await inspectOne(host, request.container, signal);
  if (!before.State.Running) {
    throw new SnapdebugError(`${request.container} on ${request.host} is ${before.State.Status}, not running: only a running container can be checkpointed.`);
  }
  let parent: SnapshotMeta | undefined;
  if (options.withPrevious) {
    if (request.previous === undefined) {
      throw new SnapdebugError('A checkpoint with previous needs the pre-checkpoint snapshot it builds on.', { fix: { text: 'Name that pre-checkpoint.', options: [{ name: 'checkpoint.withPrevious' }] } });
    }
    parent = core.store.get(request.previous);
    if (parent.kind !== 'pre-checkpoint' || parent.source.container !== request.container || parent.source.host !== request.host) {
      throw new SnapdebugError(`${parent.id} is not a pre-checkpoint of ${request.host}/${request.container}.`);
    }
  }
  throwIfAborted(signal);

  core.store.ensure();
  const id = core.store.newId(before.Name);
  const compression = compressionOf(options);
  const part = core.store.partPath(id);
  const inspector = new ArchiveInspector();
  const phase = options.preCheckpoint ? 'pre-checkpoint' : 'checkpoint';
  const dropsImages = options.leaveRunning && !options.keep && !options.preCheckpoint;
  const streamed = core.settings.transport === 'stream' || alongside !== undefined;
  const report = (total: number) => progress({ phase: 'pull', message: `Receiving ${phase} of ${request.container}`, bytes: total });
  // A stream arrives in order and is inspected as it passes; parallel ranges are inspected after.
  const onChunk = (chunk: Buffer, total: number) => {
    if (!inspector.complete) inspector.push(chunk);
    report(total);
  };
  const ownWork = request.work === undefined;
  let work: RemoteWork | undefined = request.work;
  let received: { bytes: number; sha256: string };
  let pushed: PushedArchive | undefined;
  const checkpointStarted = Date.now();
  try {
    work ??= await host.beginWork(`${phase} ${request.container}`, signal);
    progress({ phase: 'checkpoint', message: `Checkpointing ${request.container} on ${request.host}${options.leaveRunning ? ' (it keeps running)' : ''}` });
    if (streamed) {
      const result = await streamInto(core, host, work, before, { ...options, compress: compression }, part, onChunk, alongside, id, control);
      received = result.received;
      pushed = result.pushed;
    } else {
      if (dropsImages) await work.willUndo({ kind: 'images', containerId: before.Id });
      const remotePath = work.file(`archive${core.store.archiveName('', compression)}`);
      const created = await host.runner.run(host.script(newEmptyFileScript, [remotePath]));
      if (created.exitCode !== 0) throw new SnapdebugError(`Cannot create ${remotePath} on ${request.host}.`, { detail: created.stderr });
      // How the pull reaches the host (a login of OpenSSH's ssh, the first time) is learnt while podman writes.
      const laidOut = pullLayout(core, request.host, signal);
      laidOut.catch(() => undefined); // awaited once podman is done; a failed checkpoint needs no answer
      // Not cancellable while podman writes the file: a cancel waits for it, then it is undone.
      await host.podman(podman.checkpoint(request.container, { ...options, compress: compression }, remotePath), { wrap: underCheckpointLock(host, work, before.Id) });
      throwIfAborted(signal);
      received = await pullFrom(core, request.host, remotePath, part, {
        layout: laidOut,
        ...(signal && { signal }),
        onProgress: report,
        onResume: (held) => progress({ phase: 'pull', message: `Receiving ${phase} of ${request.container} (resumed at ${formatBytes(held)} after the link dropped)`, bytes: held }),
        work,
      });
    }
    if (dropsImages) await removeCheckpointImages(host, core.settings.remoteTempDir, before.Id, core.log);
    if (ownWork) await work.finish();
  } catch (error) {
    rmSync(part, { force: true });
    const undone = ownWork && work ? await work.abandon(core.log) : [];
    throw withCleanup(error, tracker.phase(), work && ownWork ? [{ host: request.host, undone }] : []);
  }
  const checkpointMs = Date.now() - checkpointStarted;

  const after = await inspectOne(host, request.container).catch(() => undefined);
  const sourceLeftRunning = after?.State.Running === true && after.State.Pid === before.State.Pid;
  if (options.leaveRunning && !sourceLeftRunning) {
    core.log(`warning: ${request.host}/${request.container} is not running with the same PID after a leave-running checkpoint`);
  }
  const facts = streamed ? await inspector.finish() : await inspectArchiveFile(part);
  if (facts.refused) core.log(`warning: the archive of ${request.host}/${request.container} would be refused: ${facts.refused}`);
  const meta: SnapshotMeta = {
    id,
    kind: options.preCheckpoint ? 'pre-checkpoint' : 'checkpoint',
    createdAt: new Date().toISOString(),
    source: snapshotSource(request.host, before, facts),
    podmanVersion: caps.podmanVersion,
    cgroupVersion: caps.info.host.cgroupVersion,
    ...(caps.criuVersion !== undefined && { criuVersion: caps.criuVersion }),
    options: { ...options, compress: compression },
    compression,
    archive: core.store.archiveName(id, compression),
    size: received.bytes,
    sha256: received.sha256,
    ...(facts.criu && { criu: facts.criu }),
    sourceLeftRunning,
    ...(parent && { parent: parent.id }),
    timings: { checkpointMs, totalMs: Date.now() - started },
  };
  return { meta: core.store.commit(part, meta), ...(pushed && { pushed }) };
}

/**
 * The streamed checkpoint: podman's archive into `part`, and — for Snapshot & Debug — in the same
 * pass, relabelled, into the debug host's work. If either side fails, the other is stopped.
 */
async function streamInto(
  core: Core,
  host: Host,
  work: RemoteWork,
  before: InspectEntry,
  options: CheckpointOptions,
  part: string,
  onChunk: (chunk: Buffer, total: number) => void,
  alongside: SendAlongside | undefined,
  id: string,
  control: WorkControl,
): Promise<{ received: { bytes: number; sha256: string }; pushed?: PushedArchive }> {
  const { signal } = control;
  const dropsBefore = host.runner.drops();
  const command = podman.checkpoint(before.Name, options, work.file(streamFifoName));
  const process = await startStreamingCheckpoint(host, work, before.Id, command, signal);
  const tee = alongside ? new PassThrough({ highWaterMark: 4 * 1024 * 1024 }) : undefined;
  const sending =
    alongside && tee
      ? pushArchive(
          core,
          () => tee,
          { id, work: alongside.work, path: alongside.path, rewrite: alongside.rewriteFor(id), compress: compressionOf(options) !== 'none', resumable: false, label: `Sending to ${alongside.work.host.name}` },
          control,
        )
      : undefined;
  let sendFailure: unknown;
  sending?.catch((error: unknown) => {
    sendFailure ??= error;
    // The source waits for the slower of its two readers: with the copy's side gone it would wait
    // for a drain that never comes (a full tee) and never see its channel close. Let it go on.
    tee?.destroy();
    process.close();
  });
  try {
    const receiving = receiveHashed(host, process, part, { ...(signal && { signal }), onChunk, ...(tee && { tee }), what: `container checkpoint ${before.Name}` });
    // Once the copy's side has failed, the source's stream may not end soon (podman can hang on
    // an export nobody reads): do not wait for it. The work's undo ends podman, once CRIU is done.
    receiving.catch(() => undefined);
    const received = sending ? await Promise.race([receiving, sending.then(() => receiving)]) : await receiving;
    return { received, ...(sending && { pushed: await sending }) };
  } catch (caught) {
    // When the copy's side failed first (its archive refused), that is what the user must read.
    const error = sendFailure ?? caught;
    process.close();
    tee?.destroy();
    await sending?.catch(() => undefined);
    if (host.runner.drops() > dropsBefore && !signal?.aborted) {
      throw new StreamInterruptedError(`The link to ${host.name} dropped during the streamed checkpoint of ${before.Name}; a streamed checkpoint cannot resume.`, {
        fix: 'Take the checkpoint again once the link is back (it starts over).',
        cause: error,
      });
    }
    throw error;
  }
}
