// migrate: the seed article's live migration, HOST/CONTAINER to another host. The target is
// checked before the source is touched; the source is checkpointed (stopped), its archive goes
// through the store to the target and is restored under the same name, and the copy must run
// and show the same commands in `podman top`. Only then, if asked, is the source removed. Both
// hosts hold it as remote work: the source's undo list says "run it again", the target's "remove
// it", so any failure before the end — or this client vanishing — leaves the source running.
import type { Core, WorkControl } from '../core';
import { podman, type TopProcess } from '../podman/commands';
import { exportOption, restoreFlags, type RestoreOptions } from '../podman/options';
import { phaseTracker, withCleanup, type Cleaned } from '../remote/failure';
import { SnapdebugError } from '../util/errors';
import { checkpoint, inspectOne } from './checkpoint';
import { hasImage } from './images';
import { pushSnapshot } from './push';
import { planRestore, restorePushed, type RestorePlan } from './restore';
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
  const tracker = phaseTracker(control.progress);
  const tracked = { ...control, progress: tracker.sink };
  const progress = tracker.sink;
  if (request.from === request.to) {
    throw new SnapdebugError('Migrating a container to its own host does nothing.', { fix: { text: 'Choose another host to move it to.', options: [{ name: 'targetHost' }] } });
  }
  const source = core.hosts.get(request.from);
  const target = core.hosts.get(request.to);

  // Everything that can fail on the target is checked while the source still runs.
  progress({ phase: 'migrate', message: `Checking ${request.to} before touching ${request.from}` });
  const before = await inspectOne(source, request.container, control.signal);
  const restoreOptions: RestoreOptions = { name: before.Name, ...(request.tcpEstablished && { tcpEstablished: true }) };
  await target.requireFlags('restore', [...restoreFlags(restoreOptions), { ...exportOption, flag: '--import' }]);
  if (await target.podman(podman.containerExists(before.Name))) {
    throw new SnapdebugError(`${request.to} already has a container named ${before.Name}; the migration would collide with it.`);
  }
  if (!request.transferImage && !(await hasImage(target, { id: before.Image, ...(before.ImageName && { name: before.ImageName }) }))) {
    throw new SnapdebugError(`The image ${before.ImageName ?? before.Image} is not on ${request.to}.`, {
      fix: { text: `Copy it from ${request.from} as part of the migration.`, options: [{ name: 'transferImage' }] },
    });
  }
  const sourceTop = await source.podman(podman.top(request.container));

  const sourceWork = await source.beginWork(`migrate ${before.Name} to ${request.to}`, control.signal);
  let plan: RestorePlan | undefined;
  let snapshot: SnapshotMeta | undefined;
  let targetTop: TopProcess[] = [];
  let restored;
  try {
    // From here on, should the migration not finish, the source host runs the container again.
    await sourceWork.willUndo({ kind: 'unstop', name: before.Name });
    snapshot = await checkpoint(
      core,
      { host: request.from, container: request.container, options: { leaveRunning: false, ...(request.tcpEstablished && { tcpEstablished: true }) }, work: sourceWork },
      tracked,
    );
    plan = await planRestore(core, snapshot, { to: request.to, options: restoreOptions, asCopy: false, ...(request.transferImage && { transferImage: true }) }, tracked);
    const pushed = await pushSnapshot(core, snapshot, plan.work, {}, tracked);
    restored = await restorePushed(core, plan, [pushed], tracked);
    progress({ phase: 'verify', message: `Checking ${before.Name} runs on ${request.to} with the same processes` });
    targetTop = await target.podman(podman.top(restored.name));
    const expected = commands(sourceTop);
    const actual = commands(targetTop);
    if (JSON.stringify(expected) !== JSON.stringify(actual)) {
      throw new SnapdebugError(`After the migration ${before.Name} on ${request.to} runs other processes than it did on ${request.from}.`, {
        detail: `before: ${expected.join(' | ')}\nafter:  ${actual.join(' | ')}`,
      });
    }
    // The target is verified: it keeps its container, and only then does the source stop coming back.
    await plan.work.finish();
    await sourceWork.finish();
  } catch (error) {
    const cleaned: Cleaned[] = [];
    if (plan) cleaned.push({ host: request.to, undone: await plan.work.abandon(core.log) });
    cleaned.push({ host: request.from, undone: await sourceWork.abandon(core.log) });
    if (snapshot) core.log(`the migration's snapshot ${snapshot.id} stays in the store`);
    throw withCleanup(error, tracker.phase(), cleaned);
  }

  let sourceRemoved = false;
  if (request.removeSource) {
    progress({ phase: 'cleanup', message: `Removing ${before.Name} from ${request.from}` });
    await source.podman(podman.remove(before.Name, { force: true }));
    sourceRemoved = true;
    core.store.audit.record({ action: 'remove-source', host: request.from, container: before.Name, snapshot: snapshot.id, detail: `migrated to ${request.to} as ${restored.name}` });
  }
  if (!request.keepSnapshot) core.store.remove(snapshot.id);
  return { snapshot, target: { host: request.to, name: restored.name, pid: restored.pid }, sourceTop, targetTop, sourceRemoved };
}
