// migrate: the seed article's live migration, HOST/CONTAINER to another host. The target is
// checked and prepared before the source is touched; the source is checkpointed (stopped), its
// archive goes host to host when the target reaches the source (as the seed's own `scp` does;
// else through the store here) and is restored under the same name, and the copy must run and
// show the same commands in `podman top`. Only then, if asked, is the source removed. Both hosts
// hold it as remote work: the source's undo list says "run it again", the target's "remove it",
// so any failure before the end — or this client vanishing — leaves the source running.
import type { Core, WorkControl } from '../core';
import { podman, type TopProcess } from '../podman/commands';
import { exportOption, restoreFlags, type RestoreOptions } from '../podman/options';
import { phaseTracker, withCleanup, type Cleaned } from '../remote/failure';
import { SnapdebugError } from '../util/errors';
import { firstRefusalInOrder } from '../util/settle';
import { checkpoint, inspectOne, plannedSnapshot } from './checkpoint';
import { chooseRoute } from './hostLink';
import { checkpointHostToHost, SourceSide, type HostToHostResult, type PreparedSource } from './hostToHost';
import { requireCgroupVersion, restoringRuntime } from './runtime';
import { hasImage } from './images';
import { pushSnapshot, type PushedArchive } from './push';
import { planRestore, restorePushed, type RestorePlan } from './restore';
import type { RemoteWork } from '../remote/work';
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
  /** Send the archive through this machine even when the target reaches the source. */
  throughHere?: boolean;
}

export interface MigrateResult {
  snapshot: SnapshotMeta;
  target: { host: string; name: string; pid: number };
  sourceTop: TopProcess[];
  targetTop: TopProcess[];
  sourceRemoved: boolean;
  /** How the archive went: host to host, or through this machine (and why). */
  route: { hostToHost: true } | { hostToHost: false; reason: string };
  /** Whether the snapshot is in the store now (keepSnapshot, and it arrived). */
  stored: boolean;
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
  const [before, caps] = await Promise.all([inspectOne(source, request.container, control.signal), source.capabilities()]);
  const restoreOptions: RestoreOptions = { name: before.Name, ...(request.tcpEstablished && { tcpEstablished: true }) };
  // Each check is a round trip to its host: all at once (none changes anything), and the answer is
  // the first refusal in this order, whichever arrived first (a crun snapshot for a cgroup v1 host
  // is refused for its runtime, every time).
  const [, , , exists, imageThere, sourceTop] = await firstRefusalInOrder([
    target.requireFlags('restore', [...restoreFlags(restoreOptions), { ...exportOption, flag: '--import' }]),
    // podman restores with the runtime that took the checkpoint: the target must have it.
    restoringRuntime(target, before.OCIRuntime, control.signal),
    requireCgroupVersion(target, request.from, caps.info.host.cgroupVersion),
    target.podman(podman.containerExists(before.Name)),
    request.transferImage ? true : hasImage(target, { id: before.Image, ...(before.ImageName && { name: before.ImageName }) }),
    source.podman(podman.top(request.container)),
  ]);
  if (exists) {
    throw new SnapdebugError(`${request.to} already has a container named ${before.Name}; the migration would collide with it.`);
  }
  if (!imageThere) {
    throw new SnapdebugError(`The image ${before.ImageName ?? before.Image} is not on ${request.to}.`, {
      fix: { text: `Copy it from ${request.from} as part of the migration.`, options: [{ name: 'transferImage' }] },
    });
  }
  const checkpointOptions = { leaveRunning: false, ...(request.tcpEstablished && { tcpEstablished: true }) };
  // The target's side is prepared while the source still runs: the migration's downtime is the
  // checkpoint, the transfer and the restore, nothing else.
  const draft = plannedSnapshot(request.from, before, caps, checkpointOptions);
  // Once the target has passed every check, at once: its fence and route, the source's work (what
  // undoes the stop) and the source's side of a host-to-host checkpoint. Nothing touches the
  // container before all of them stand; a failure abandons whichever began.
  const sourceSide = new SourceSide(core, { host: request.from, before, options: checkpointOptions }, target, control.signal);
  let beginning: Promise<RemoteWork> | undefined;
  const routeFrom = (work: RemoteWork) => {
    if (!request.throughHere) sourceSide.begin();
    beginning = source.beginWork(`migrate ${before.Name} to ${request.to}`, control.signal);
    beginning.catch(() => undefined);
    return chooseRoute(source, work, { ...(request.throughHere && { throughHere: true }) }, core.log);
  };
  const planning = planRestore(
    core,
    draft,
    {
      to: request.to,
      options: restoreOptions,
      asCopy: false,
      ...(request.transferImage && { transferImage: true }),
      routeFrom,
    },
    tracked,
  );
  const [planned] = await Promise.allSettled([planning]);
  // (nothing began on the source when the target refused before its fence and route)
  const [begun] = await Promise.allSettled([beginning]);
  if (planned.status === 'rejected' || begun.status === 'rejected') {
    const cleaned: Cleaned[] = [];
    if (planned.status === 'fulfilled') cleaned.push({ host: request.to, undone: await planned.value.work.abandon(core.log) });
    if (begun.status === 'fulfilled') await begun.value?.abandon(core.log);
    await sourceSide.drop();
    const error: unknown = planned.status === 'rejected' ? planned.reason : (begun as PromiseRejectedResult).reason;
    throw cleaned.length > 0 ? withCleanup(error, tracker.phase(), cleaned) : error;
  }
  const plan: RestorePlan = planned.value;
  const sourceWork: RemoteWork = begun.value!; // a plan that stands called routeFrom, which began it
  let snapshot: SnapshotMeta | undefined;
  let direct: HostToHostResult | undefined;
  let route: MigrateResult['route'] = { hostToHost: false, reason: 'not chosen yet' };
  let targetTop: TopProcess[] = [];
  let restored;
  const chosen = plan.route!;
  // The prepared source side, until checkpointHostToHost owns it (through this machine: dropped).
  let ready: PreparedSource | undefined;
  try {
    // A host-to-host route whose source side could not be prepared fails here, before the stop.
    if ('link' in chosen && sourceSide.begun) ready = await sourceSide.take();
    else await sourceSide.drop();
    route = 'link' in chosen ? { hostToHost: true } : { hostToHost: false, reason: chosen.reason };
    // From here on, should the migration not finish, the source host runs the container again.
    await sourceWork.willUndo({ kind: 'unstop', name: before.Name });
    let pushed: PushedArchive;
    if ('link' in chosen && ready) {
      const handedOver = ready;
      ready = undefined; // checkpointHostToHost abandons it on any failure from here
      direct = await checkpointHostToHost(core, handedOver, { work: plan.work }, chosen.link, tracked);
      ({ meta: snapshot, pushed } = direct);
    } else {
      progress({ phase: 'checkpoint', message: `Through this machine: ${(chosen as { reason: string }).reason}` });
      snapshot = await checkpoint(core, { host: request.from, container: request.container, options: checkpointOptions, work: sourceWork }, tracked);
      pushed = await pushSnapshot(core, snapshot, plan.work, {}, tracked);
    }
    plan.meta = snapshot;
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
    cleaned.push({ host: request.to, undone: await plan.work.abandon(core.log) });
    const archiveUndone = (await direct?.abandon()) ?? (await ready?.archive.work.abandon(core.log));
    cleaned.push({ host: request.from, undone: [...(archiveUndone ?? []), ...((await sourceWork.abandon(core.log)) ?? [])] });
    if (snapshot && !direct) core.log(`the migration's snapshot ${snapshot.id} stays in the store`);
    throw withCleanup(error, tracker.phase(), cleaned);
  }

  // Host to host, the store gets the snapshot only when it is to be kept: from the source's
  // archive, after the migration is done (a failure here fails nothing that moved).
  let stored = !direct;
  if (direct && request.keepSnapshot) {
    stored = await direct.storing(tracked).then(
      () => true,
      (error: unknown) => (core.log(`the migration's snapshot ${snapshot.id} did not reach the store: ${(error as Error).message}`), false),
    );
  } else if (direct) await direct.abandon();

  let sourceRemoved = false;
  if (request.removeSource) {
    progress({ phase: 'cleanup', message: `Removing ${before.Name} from ${request.from}` });
    await source.podman(podman.remove(before.Name, { force: true }));
    sourceRemoved = true;
    core.store.audit.record({ action: 'remove-source', host: request.from, container: before.Name, snapshot: snapshot.id, detail: `migrated to ${request.to} as ${restored.name}` });
  }
  if (!request.keepSnapshot && !direct) core.store.remove(snapshot.id);
  return { snapshot, target: { host: request.to, name: restored.name, pid: restored.pid }, sourceTop, targetTop, sourceRemoved, route, stored: stored && request.keepSnapshot === true };
}
