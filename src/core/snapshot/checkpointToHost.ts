// checkpoint --push-to: a snapshot into the store, and its archive kept on another host for a
// while (to restore there later, by podman or by us) — the seed article's `checkpoint -e` on one
// host and `scp` to the next. When that host reaches the source, the archive goes host to host
// (hostToHost.ts), kept as podman wrote it, and the store receives it afterwards from the source;
// otherwise it is checkpointed into the store and pushed from here, with one line saying why.
import type { Core, WorkControl } from '../core';
import { checkpointFlags, exportOption, validateCheckpointOptions } from '../podman/options';
import { phaseTracker, withCleanup } from '../remote/failure';
import { SnapdebugError } from '../util/errors';
import { checkpoint, inspectOne, type CheckpointRequest } from './checkpoint';
import { chooseRoute, type Route } from './hostLink';
import { checkpointHostToHost, SourceSide, type HostToHostResult } from './hostToHost';
import { pushToKeep, type PushedArchive } from './push';
import type { SnapshotMeta } from './store';

export interface CheckpointToHostRequest extends CheckpointRequest {
  /** The host that keeps the archive. */
  to: string;
  /** How long it keeps it: the archive holds process memory. */
  keepForMs: number;
  /** Send the archive through this machine even when `to` reaches the source host. */
  throughHere?: boolean;
}

export interface CheckpointToHostResult {
  meta: SnapshotMeta;
  kept: PushedArchive & { expiresAt: string };
  route: { hostToHost: true } | { hostToHost: false; reason: string };
}

export async function checkpointToHost(core: Core, request: CheckpointToHostRequest, control: WorkControl = {}): Promise<CheckpointToHostResult> {
  const { options } = request;
  if (request.to === request.host) throw new SnapdebugError(`The archive is to be kept on another host than ${request.host}, which it comes from.`);
  if (options.preCheckpoint || options.withPrevious) throw new SnapdebugError('A pre-checkpoint and a checkpoint with previous stay in the store: push them afterwards with `snapdebug push`.');
  validateCheckpointOptions(options);
  const tracker = phaseTracker(control.progress);
  control = { ...control, progress: tracker.sink };
  const progress = tracker.sink;
  const source = core.hosts.get(request.host);
  const target = core.hosts.get(request.to);
  progress({ phase: 'connect', message: `Connecting to ${request.host} and ${request.to}` });
  const [before] = await Promise.all([inspectOne(source, request.container, control.signal), source.requireFlags('checkpoint', [...checkpointFlags(options), exportOption]), target.capabilities()]);
  if (!before.State.Running) throw new SnapdebugError(`${request.container} on ${request.host} is ${before.State.Status}, not running: only a running container can be checkpointed.`);

  const work = await target.beginWork(`keep a checkpoint of ${request.container} from ${request.host}`, control.signal);
  const sourceSide = new SourceSide(core, { host: request.host, before, options }, target, control.signal);
  let direct: HostToHostResult | undefined;
  const abandonBoth = async (error: unknown) => {
    const [sourceUndone, undone] = await Promise.all([direct ? direct.abandon() : sourceSide.drop(), work.abandon(core.log)]);
    return withCleanup(error, tracker.phase(), [{ host: request.to, undone }, ...(sourceUndone ? [{ host: request.host, undone: sourceUndone }] : [])]);
  };
  let route: Route;
  try {
    // The source's side (its work, an empty archive file) is made ready while the route is probed.
    if (!request.throughHere) sourceSide.begin();
    route = await chooseRoute(source, work, { ...(request.throughHere && { throughHere: true }) }, core.log);
  } catch (error) {
    throw await abandonBoth(error);
  }
  if ('reason' in route) {
    await Promise.all([sourceSide.drop(), work.finish()]);
    progress({ phase: 'checkpoint', message: `Through this machine: ${route.reason}` });
    const meta = await checkpoint(core, request, control);
    const kept = await pushToKeep(core, meta, request.to, request.keepForMs, control);
    return { meta, kept, route: { hostToHost: false, reason: route.reason } };
  }
  try {
    direct = await checkpointHostToHost(core, await sourceSide.take(), { work, asWritten: true }, route.link, control);
    const { pushed } = direct;
    // The store's copy is verified against the source's sha256 before the kept one leaves the work.
    const meta = await direct.storing(control);
    const expiresAtMs = Date.now() + request.keepForMs;
    const folder = await work.keep({ expiresAtMs });
    const path = `${folder}/${meta.archive}`;
    const moved = await target.runner.run(['mv', pushed.path, path]);
    if (moved.exitCode !== 0) throw new SnapdebugError(`Cannot move the archive into ${folder} on ${request.to}.`, { detail: moved.stderr });
    await work.finish();
    const expiresAt = new Date(expiresAtMs).toISOString();
    core.log(`${meta.id} is kept on ${request.to} at ${path} until ${expiresAt}`);
    return { meta, kept: { ...pushed, path, sha256: meta.sha256, expiresAt }, route: { hostToHost: true } };
  } catch (error) {
    throw await abandonBoth(error);
  }
}
