// checkpoint: HOST/CONTAINER into the local store. By default the container keeps running
// (--leave-running) and the archive streams straight out of podman (--export /dev/stdout) into a
// `.part` file, hashed on both ends, then renamed: no archive ever rests on the source host.
// With the `file` transport the archive goes to a temp file on the host first, pulled in
// parallel byte ranges and removed in every outcome.
import { ArchiveInspector, inspectArchiveFile, type Compression } from '../archive/checkpointArchive';
import type { CopyRewrite } from '../archive/relabel';
import type { Core, WorkControl } from '../core';
import type { Host } from '../host';
import { podman, streamFd } from '../podman/commands';
import { checkpointFlags, exportOption, validateCheckpointOptions, type CheckpointOptions } from '../podman/options';
import type { InspectEntry } from '../podman/schemas';
import { throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { noProgress } from '../util/progress';
import type { SnapshotMeta } from './store';
import { pullFile } from './pull';
import { abandonStreamingCheckpoint, removeCheckpointImages } from './abandon';
import { hashedOutput, receiveHashed, removeRemote, wrapperPid } from './transfer';
import { pushArchive, remoteArchivePath, type PushedArchive } from './push';
import { PassThrough } from 'node:stream';
import { rmSync } from 'node:fs';

export interface CheckpointRequest {
  host: string;
  container: string;
  options: CheckpointOptions;
  /** For --with-previous: the pre-checkpoint snapshot this one builds on. */
  previous?: string;
}

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
  to: string;
  /** What the copy's archive gains (labels, annotations), given the new snapshot's id. */
  rewriteFor: (snapshotId: string) => CopyRewrite;
}

/** What a snapshot records of its source container (the archive's own image facts win). */
export function snapshotSource(host: string, entry: InspectEntry, archive: { imageName?: string; imageId?: string; runtime?: string } = {}): SnapshotMeta['source'] {
  const ports = Object.entries(entry.HostConfig?.PortBindings ?? {})
    .filter(([, bindings]) => bindings && bindings.length > 0)
    .map(([port]) => port);
  const volumes = (entry.Mounts ?? []).flatMap((mount) => (mount.Type === 'volume' && mount.Name ? [mount.Name] : []));
  return {
    host,
    container: entry.Name,
    containerId: entry.Id,
    image: archive.imageName ?? entry.ImageName ?? entry.Image,
    imageId: archive.imageId ?? entry.Image,
    ...(ports.length > 0 && { ports }),
    ...(volumes.length > 0 && { volumes }),
    ...((archive.runtime ?? entry.OCIRuntime) && { runtime: archive.runtime ?? entry.OCIRuntime }),
  };
}

/**
 * A checkpoint that also feeds another host in the same pass (streaming transport only): the
 * bytes leaving the source go both into the store and, relabelled, to a temporary file on `to`.
 */
export async function checkpointAndSend(
  core: Core,
  request: CheckpointRequest,
  alongside: SendAlongside | undefined,
  control: WorkControl = {},
): Promise<{ meta: SnapshotMeta; pushed?: PushedArchive }> {
  const { signal } = control;
  const progress = control.progress ?? noProgress;
  const started = Date.now();
  const options = request.options;
  validateCheckpointOptions(options);

  progress({ phase: 'connect', message: `Connecting to ${request.host}` });
  const host = core.hosts.get(request.host);
  const caps = await host.capabilities();
  await host.requireFlags('checkpoint', [...checkpointFlags(options), exportOption]);
  if (caps.info.host.security.rootless) {
    throw new SnapdebugError(`podman on ${request.host} runs rootless, and CRIU checkpoints need rootful podman.`, {
      fix: `Connect as root, or enable useSudo for ${request.host} (with passwordless sudo for podman).`,
    });
  }
  const before = await inspectOne(host, request.container, signal);
  if (!before.State.Running) {
    throw new SnapdebugError(`${request.container} on ${request.host} is ${before.State.Status}, not running: only a running container can be checkpointed.`);
  }
  let parent: SnapshotMeta | undefined;
  if (options.withPrevious) {
    if (request.previous === undefined) {
      throw new SnapdebugError('--with-previous needs the pre-checkpoint snapshot it builds on (--previous SNAPSHOT).');
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
  progress({ phase: 'checkpoint', message: `Checkpointing ${request.container} on ${request.host}${options.leaveRunning ? ' (it keeps running)' : ''}` });
  const report = (total: number) => progress({ phase: 'pull', message: `Receiving ${phase} of ${request.container}`, bytes: total });
  // A stream arrives in order and is inspected as it passes; parallel ranges are inspected after.
  const onChunk = (chunk: Buffer, total: number) => {
    if (!inspector.complete) inspector.push(chunk);
    report(total);
  };
  const checkpointStarted = Date.now();
  let received: { bytes: number; sha256: string };
  let pushed: PushedArchive | undefined;
  if (core.settings.transport === 'stream' || alongside) {
    const command = podman.checkpoint(request.container, { ...options, compress: compression }, streamFd);
    const process = await host.runner.start(hashedOutput(host.privileged(['podman', ...command.argv])), signal ? { signal } : {});
    const what = `container checkpoint ${request.container}`;
    // One pass to the debug host too, when asked: if either side fails, the other is stopped.
    const tee = alongside ? new PassThrough({ highWaterMark: 4 * 1024 * 1024 }) : undefined;
    const path = remoteArchivePath(core, { id, archive: core.store.archiveName(id, compression) }, true);
    const sending = alongside && tee ? pushArchive(core, tee, { id, to: alongside.to, path, rewrite: alongside.rewriteFor(id) }, control) : undefined;
    sending?.catch(() => process.close());
    try {
      received = await receiveHashed(host, process, part, { ...(signal && { signal }), onChunk, ...(tee && { tee }), what });
      if (sending) pushed = await sending;
    } catch (error) {
      process.close();
      tee?.destroy();
      rmSync(part, { force: true });
      await (await sending?.catch(() => undefined))?.remove();
      await abandonStreamingCheckpoint(host, wrapperPid(process.stderrText()), before.Id, core.log);
      throw error;
    }
  } else {
    const remotePath = `${core.settings.remoteTempDir}/snapdebug-${id}${core.store.archiveName('', compression)}`;
    try {
      // Not cancellable while podman writes the file: a cancel waits for it, then removes it.
      await host.podman(podman.checkpoint(request.container, { ...options, compress: compression }, remotePath));
      throwIfAborted(signal);
      received = await pullFile(core.hosts.lanes(request.host, core.settings.transferLanes), remotePath, part, {
        ...(signal && { signal }),
        onChunk: (_chunk, total) => report(total),
      });
    } catch (error) {
      if (options.leaveRunning && !options.keep && !options.preCheckpoint) await removeCheckpointImages(host, before.Id, core.log);
      throw error;
    } finally {
      await removeRemote(host, remotePath);
    }
  }
  const checkpointMs = Date.now() - checkpointStarted;

  if (options.leaveRunning && !options.keep && !options.preCheckpoint) await removeCheckpointImages(host, before.Id, core.log);
  const after = await inspectOne(host, request.container).catch(() => undefined);
  const sourceLeftRunning = after?.State.Running === true && after.State.Pid === before.State.Pid;
  if (options.leaveRunning && !sourceLeftRunning) {
    core.log(`warning: ${request.host}/${request.container} is not running with the same PID after a leave-running checkpoint`);
  }
  const facts = core.settings.transport === 'stream' || alongside ? await inspector.finish() : await inspectArchiveFile(part);
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
