// migrate: the seed article's live migration, HOST/CONTAINER to another host. The target is
// checked before the source is touched; the source is checkpointed (stopped), its archive goes
// through the store to the target and is restored under the same name, and the copy must run
// and show the same commands in `podman top`. Only then, if asked, is the source removed. Any
// failure before that point restores the source in place on its own host: nothing is lost.
import type { Core, WorkControl } from '../core';
import { podman, type TopProcess } from '../podman/commands';
import { exportOption, restoreFlags, type RestoreOptions } from '../podman/options';
import { SnapdebugError, describeError } from '../util/errors';
import { noProgress } from '../util/progress';
import { checkpoint, inspectOne } from './checkpoint';
import { requireCgroupVersion, restoringRuntime } from './runtime';
import { hasImage } from './images';
import { restoreSnapshot } from './restore';
import type { SnapshotMeta } from './store';

export interface MigrateRequest {
  from: string;
  container: string;
  to: string;
  removeSource?: boolean;
  transferImage?: boolean;
  tcpEstablished?: boolean;
  /** Keep the snapshot in the store afterwards (it is deleted by default: it holds memory). */
  keepSnapshot?: boolean;
}

export interface MigrateResult {
  snapshot: SnapshotMeta;
  target: { host: string; name: string; pid: number };
  sourceTop: TopProcess[];
  targetTop: TopProcess[];
  sourceRemoved: boolean;
}

function commands(top: TopProcess[]): string[] {
  return top.map((p) => p.command).sort();
}

export async function migrate(core: Core, request: MigrateRequest, control: WorkControl = {}): Promise<MigrateResult> {
  const progress = control.progress ?? noProgress;
  if (request.from === request.to) throw new SnapdebugError('Migrating a container to its own host does nothing: choose another --to host.');
  const source = core.hosts.get(request.from);
  const target = core.hosts.get(request.to);

  // Everything that can fail on the target is checked while the source still runs.
  progress({ phase: 'migrate', message: `Checking ${request.to} before touching ${request.from}` });
  const before = await inspectOne(source, request.container, control.signal);
  const restoreOptions: RestoreOptions = { name: before.Name, ...(request.tcpEstablished && { tcpEstablished: true }) };
  await target.requireFlags('restore', [...restoreFlags(restoreOptions), { ...exportOption, flag: '--import' }]);
  // podman restores with the runtime that took the checkpoint: the target must have it.
  await restoringRuntime(target, before.OCIRuntime, control.signal);
  await requireCgroupVersion(target, request.from, (await source.capabilities()).info.host.cgroupVersion);
  if (await target.podman(podman.containerExists(before.Name))) {
    throw new SnapdebugError(`${request.to} already has a container named ${before.Name}; the migration would collide with it.`);
  }
  if (!request.transferImage && !(await hasImage(target, { id: before.Image, ...(before.ImageName && { name: before.ImageName }) }))) {
    throw new SnapdebugError(`The image ${before.ImageName ?? before.Image} is not on ${request.to}.`, {
      fix: `Migrate with --transfer-image to copy it from ${request.from}.`,
    });
  }
  const sourceTop = await source.podman(podman.top(request.container));

  let snapshot: SnapshotMeta | undefined;
  let targetTop: TopProcess[] = [];
  let restored;
  try {
    snapshot = await checkpoint(
      core,
      { host: request.from, container: request.container, options: { leaveRunning: false, ...(request.tcpEstablished && { tcpEstablished: true }) } },
      control,
    );
    restored = await restoreSnapshot(
      core,
      { snapshot: snapshot.id, to: request.to, options: restoreOptions, asCopy: false, ...(request.transferImage && { transferImage: true }) },
      control,
    );
    progress({ phase: 'verify', message: `Checking ${before.Name} runs on ${request.to} with the same processes` });
    targetTop = await target.podman(podman.top(restored.name));
    const expected = commands(sourceTop);
    const actual = commands(targetTop);
    if (JSON.stringify(expected) !== JSON.stringify(actual)) {
      throw new SnapdebugError(`After the migration ${before.Name} on ${request.to} runs other processes than it did on ${request.from}.`, {
        detail: `before: ${expected.join(' | ')}\nafter:  ${actual.join(' | ')}`,
      });
    }
  } catch (error) {
    await rollBack(core, request, before.Name, error);
    throw error;
  }

  if (!snapshot || !restored) throw new SnapdebugError('The migration ended without a restored container.');
  let sourceRemoved = false;
  if (request.removeSource) {
    progress({ phase: 'cleanup', message: `Removing ${before.Name} from ${request.from}` });
    await source.podman(podman.remove(before.Name, { force: true }));
    sourceRemoved = true;
  }
  if (!request.keepSnapshot) core.store.remove(snapshot.id);
  return { snapshot, target: { host: request.to, name: restored.name, pid: restored.pid }, sourceTop, targetTop, sourceRemoved };
}

/** Puts the source back as it was: the target's container (if any) removed, the source restored in place. */
async function rollBack(core: Core, request: MigrateRequest, name: string, cause: unknown): Promise<void> {
  core.log(`migration of ${request.from}/${name} failed (${describeError(cause).split('\n')[0]}); restoring it on ${request.from}`);
  // The target had no container of that name before (checked first): whatever has it now is ours.
  const target = core.hosts.get(request.to);
  if (await target.podman(podman.containerExists(name)).catch(() => false)) {
    await target.podman(podman.remove(name, { force: true, stopSeconds: 0 })).catch(() => undefined);
  }
  const source = core.hosts.get(request.from);
  const state = await inspectOne(source, name).catch(() => undefined);
  if (!state || state.State.Running) return;
  if (state.State.Checkpointed) {
    await source.podman(podman.restore({ container: name }, {})).catch((error: unknown) => {
      core.log(`could not restore ${request.from}/${name} in place: ${describeError(error)}; its snapshot stays in the store`);
    });
    return;
  }
  // Stopped without a usable checkpoint: starting it again is all that is left to do.
  core.log(`${request.from}/${name} stopped without a checkpoint to restore; starting it again (its memory is lost)`);
  await source.podman(podman.start(name)).catch(() => undefined);
}
