// restore: a snapshot from the store onto a host, as a copy (labelled snapdebug.origin=<id>) or,
// for migrations, as the container itself. Everything that can be checked is checked before any
// byte moves (podman's flags, the name, the image). It runs as a remote work on the target: the
// archive sits in the work's folder, and the container and volumes it creates are noted in its
// undo list first, so a restore that never finishes — failed, cancelled, or this client gone —
// leaves nothing behind. A copy may be fenced (fence/): its network and rules stand before it
// exists. Also the seed article's restore in place (`podman container restore --keep`).
import type { CopyRewrite } from '../archive/relabel';
import type { Core, WorkControl } from '../core';
import type { AllowedEgress } from '../fence/egress';
import { fenceHosts, fenceLabels, planFence, setUpFence, type Fence, type FenceRequest } from '../fence/fence';
import type { Host } from '../host';
import { podman } from '../podman/commands';
import type { RemoteWork } from '../remote/work';
import { validateContainerRef, validateVolumeName } from '../podman/names';
import { exportOption, restoreFlags, validateRestoreOptions, type RestoreOptions } from '../podman/options';
import { throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { noProgress } from '../util/progress';
import { phaseTracker, withCleanup } from '../remote/failure';
import { inspectOne } from './checkpoint';
import { hasImage, transferImage } from './images';
import { copyFromKept, findKeptArchive } from './keptArchive';
import { pushSnapshot, type PushedArchive } from './push';
import type { SnapshotMeta } from './store';
import { requireCgroupVersion, restoringRuntime, snapshotRuntime } from './runtime';
import { criuConfigAnnotation, criuConfigFileName, criuConfigLabel, hostCriuOptions, needsCriuConfig, writeCriuConfig } from './tcpClose';
import type { Route } from './hostLink';
import { firstRefusalInOrder } from '../util/settle';

/** The target lacks the container's image: the caller may retry with transferImage. */
export class ImageMissingError extends SnapdebugError {
  constructor(
    readonly image: string,
    readonly sourceHost: string,
    readonly targetHost: string,
  ) {
    super(`The image ${image} is not on ${targetHost}, so podman cannot restore the snapshot there.`, {
      fix: { text: `Copy it from ${sourceHost}, or load it on ${targetHost} first.`, options: [{ name: 'transferImage' }] },
    });
  }
}

export const originLabel = 'snapdebug.origin';
export const sourceLabel = 'snapdebug.source';
/** The copy's own named volumes, removed with it. */
export const volumesLabel = 'snapdebug.volumes';

export interface RestoreRequest {
  snapshot: string;
  to: string;
  options: RestoreOptions;
  /** Copy the image from the snapshot's source host when the target lacks it. */
  transferImage?: boolean;
  /** A copy carries our labels and never takes a name already in use; a migration is not a copy. */
  asCopy?: boolean;
  /** Fence the copy (fence/): it reaches nothing outside itself but what is allowed. */
  fence?: FenceRequest;
}

export interface RestoredContainer {
  host: string;
  name: string;
  id: string;
  snapshot: string;
  pid: number;
  /** Set when the copy is fenced: what it may still reach. */
  fence?: { allowed: AllowedEgress[] };
}

/** `base` if no container on the host has that name, else the first free `base-copyN`. */
export async function freeName(host: Host, base: string, signal?: AbortSignal): Promise<string> {
  const taken = new Set((await host.podman(podman.ps(), signal ? { signal } : {})).flatMap((c) => c.Names));
  if (!taken.has(base)) return base;
  for (let n = 1; ; n++) if (!taken.has(`${base}-copy${n}`)) return `${base}-copy${n}`;
}

/** What a restore will do, decided and checked before any byte moves. */
export interface RestorePlan {
  meta: SnapshotMeta;
  parent: SnapshotMeta | undefined;
  target: Host;
  name: string;
  options: RestoreOptions;
  /** A copy carries our labels; a migration is not a copy. */
  asCopy: boolean;
  /** Where the copy's CRIU options file goes, when podman or the runtime lacks --tcp-close (see tcpClose.ts). */
  criuConfig: string | undefined;
  /** The OCI runtime that restores it on the target: the one that took the snapshot (runtime.ts). */
  runtime: string;
  /** The copy's own named volumes: the original's name → the copy's. */
  volumes: Record<string, string> | undefined;
  /** The copy's fence, set up on the target before the copy exists. */
  fence: Fence | undefined;
  /** The restore's work on the target; whoever planned it finishes or abandons it. */
  work: RemoteWork;
  /** The route the archive takes there, when the planner asked (RestoreRequest's routeFrom). */
  route?: Route;
  /** A file the target keeps with the snapshot's archive, sha256 verified there (planRestore's lookForKept). */
  kept?: string;
  /** The container and volumes noted in the undo list (noteRestoredContainer). */
  noted?: Promise<void>;
}

export function copyLabels(meta: Pick<SnapshotMeta, 'id' | 'source'>): Record<string, string> {
  return { [originLabel]: meta.id, [sourceLabel]: `${meta.source.host}/${meta.source.container}` };
}

/** What the copy's archive gains on its way (undefined for a migration, whose archive goes as it is). */
export function copyRewrite(plan: Pick<RestorePlan, 'asCopy' | 'criuConfig' | 'volumes' | 'meta' | 'fence'>, snapshotId = plan.meta.id): CopyRewrite | undefined {
  if (!plan.asCopy) return undefined;
  const { criuConfig, volumes, fence } = plan;
  return {
    labels: {
      ...copyLabels({ id: snapshotId, source: plan.meta.source }),
      ...(criuConfig && { [criuConfigLabel]: criuConfig }),
      ...(volumes && { [volumesLabel]: Object.values(volumes).join(',') }),
      ...(fence && fenceLabels(fence)),
    },
    ...(criuConfig && { annotations: { [criuConfigAnnotation]: criuConfig } }),
    ...(volumes && { volumes }),
    ...(fence && { network: { network: fence.network, hosts: fenceHosts(fence) } }),
    original: plan.meta.source,
  };
}

/**
 * A copy never shares a named volume: not with production's twin on the same host, not with
 * another copy, not with anything of that name already there. Each of the original's volumes
 * comes back as COPY-VOLUME, holding the content the snapshot carried.
 */
export function copyVolumes(meta: Pick<SnapshotMeta, 'source'>, copyName: string): Record<string, string> | undefined {
  const names = meta.source.volumes ?? [];
  if (names.length === 0) return undefined;
  return Object.fromEntries(names.map((volume) => [volume, validateVolumeName(`${copyName}-${volume}`)]));
}

/**
 * Checks the target before anything moves: podman's flags, the name, the runtime, the image
 * (copied over when asked), the copy's volumes and fence. `meta` may describe a snapshot not
 * taken yet (Snapshot & Debug plans first). Over a slow link every check is a round trip, so
 * they run at once, with the work's folder begun alongside (abandoned on a refusal): the answer
 * is the first refusal in the order they are listed. Then, at once again: the copy's CRIU options
 * file, its fence, the route the archive will take (`request.routeFrom`), and, when asked
 * (`request.lookForKept`, a snapshot already in the store), a file the target keeps with the
 * snapshot's archive: asked only of a target that passed every check, since it hashes.
 */
export async function planRestore(
  core: Core,
  meta: SnapshotMeta,
  request: Omit<RestoreRequest, 'snapshot'> & { routeFrom?: (work: RemoteWork) => Promise<Route>; lookForKept?: boolean },
  control: WorkControl = {},
): Promise<RestorePlan> {
  const { signal } = control;
  const withSignal = signal ? { signal } : {};
  const asCopy = request.asCopy ?? true;
  if (meta.kind !== 'checkpoint') {
    throw new SnapdebugError(`${meta.id} is a pre-checkpoint: restore the checkpoint taken with previous on top of it.`);
  }
  const options: RestoreOptions = { ...request.options };
  // A copy holds production's data: its ports go on its host's loopback, on ports podman picks,
  // so it takes no traffic meant for anything else and never collides with another copy.
  if (asCopy && options.publish === undefined && meta.source.ports?.length) options.publish = meta.source.ports.map((port) => `127.0.0.1::${port}`);
  validateRestoreOptions(options);
  if (options.name !== undefined) validateContainerRef(options.name);
  if (request.fence && !asCopy) throw new SnapdebugError('Only a copy can be fenced: a migrated container keeps its own network.');

  (control.progress ?? noProgress)({ phase: 'connect', message: `Connecting to ${request.to}` });
  const target = core.hosts.get(request.to);
  const parent = meta.parent ? core.store.get(meta.parent) : undefined;
  const wanted = options.name ?? meta.source.container;
  const image = { ...(meta.source.imageId && { id: meta.source.imageId }), ...(meta.source.image && { name: meta.source.image }) };
  const imageName = meta.source.image ?? meta.source.imageId ?? 'unknown';

  const naming = (async () => {
    const name = options.name !== undefined || !asCopy ? wanted : await freeName(target, wanted, signal);
    if (name === wanted && (await target.podman(podman.containerExists(name), withSignal))) {
      throw new SnapdebugError(`A container named ${name} already exists on ${request.to}.`, {
        fix: { text: 'Choose another name for the copy, or remove that container first.', options: [{ name: 'restore.name' }] },
      });
    }
    return name;
  })();
  const volumesFree = naming.then(async (name) => {
    const volumes = asCopy ? copyVolumes(meta, name) : undefined;
    const taken = await Promise.all(Object.values(volumes ?? {}).map(async (volume) => ((await target.podman(podman.volumeExists(volume), withSignal)) ? volume : undefined)));
    const volume = taken.find((v) => v !== undefined);
    if (volume !== undefined) {
      throw new SnapdebugError(`A volume named ${volume} already exists on ${request.to}, where the copy ${name} would get its own.`, {
        fix: { text: `Remove that volume (podman volume rm ${volume}) or give the copy another name.`, options: [{ name: 'restore.name' }] },
      });
    }
    return volumes;
  });
  const runtimeChosen = snapshotRuntime(core, meta).then((runtime) => restoringRuntime(target, runtime, signal));
  // The copy's CRIU options file keeps the host's own options: read now, written once the work exists.
  const criuOptions = runtimeChosen.then(async (runtime) => {
    const needed = asCopy && meta.options.tcpEstablished ? await needsCriuConfig(target, options, runtime) : false;
    return needed ? hostCriuOptions(target, runtime) : undefined;
  });
  const imageThere = hasImage(target, image, signal).then((there) => {
    if (!there && !request.transferImage) throw new ImageMissingError(imageName, meta.source.host, request.to);
    return there;
  });
  const flagsOk = target.requireFlags('restore', [...restoreFlags({ ...options, name: options.name ?? 'x', ...(parent && { importPrevious: '/x' }) }), { ...exportOption, flag: '--import' }]);
  const cgroupOk = requireCgroupVersion(target, meta.source.host, meta.cgroupVersion);
  // The work's folder is begun alongside the checks that take round trips, but only once the
  // target is known to be able to restore this snapshot at all (podman's flags, the runtime, the
  // cgroup version: answered from its capabilities, a round trip only for a second runtime), so
  // a target that never could sees nothing but questions.
  const working = Promise.all([flagsOk, runtimeChosen, cgroupOk]).then(() => target.beginWork(`restore ${meta.id} on ${request.to} (${wanted})`, signal));
  working.catch(() => undefined);
  try {
    const [, name, runtime, , hostOptions, there, volumes, fence] = await firstRefusalInOrder([
      flagsOk,
      naming,
      runtimeChosen,
      cgroupOk,
      criuOptions,
      imageThere,
      volumesFree,
      request.fence ? planFence(target, request.fence, signal) : undefined,
    ] as const);
    throwIfAborted(signal);
    if (!there) await transferImage(core, { image: imageName, from: meta.source.host, to: request.to }, control);
    const begun = await working;
    // The copy's CRIU options live in a folder of its own, which outlives this work with the copy.
    const writingConfig = async () => {
      const path = `${await begun.keep({ copy: name })}/${criuConfigFileName}`;
      await writeCriuConfig(target, path, name, runtime, hostOptions);
      return path;
    };
    const lookingForKept = request.lookForKept && asCopy ? findKeptArchive(target, meta).catch(() => undefined) : undefined;
    const [criuConfig, , route, kept] = await firstRefusalInOrder([
      hostOptions === undefined ? undefined : writingConfig(),
      // The fence stands before the copy exists: its first packet meets it (fence/rules.ts).
      fence ? setUpFence(begun, fence, name, signal) : undefined,
      request.routeFrom?.(begun),
      lookingForKept,
    ] as const);
    return { meta, parent, target, name, options: { ...options, name }, asCopy, criuConfig, runtime, volumes, fence, work: begun, ...(route && { route }), ...(kept && { kept }) };
  } catch (error) {
    // The work's folder, if it was begun (a refusal may come before it exists): abandoned.
    await (await working.catch(() => undefined))?.abandon(core.log);
    throw error;
  }
}

/**
 * Notes the container and its volumes in the plan's undo list, once, whoever asks first: the
 * restore does, and Snapshot & Debug while the archive travels (a copy's name is its own,
 * checked free and random, so noting it early removes nothing of anyone's).
 */
export function noteRestoredContainer(plan: RestorePlan): Promise<void> {
  plan.noted ??= plan.work.willUndo(...Object.values(plan.volumes ?? {}).map((volume) => ({ kind: 'volume' as const, name: volume })), { kind: 'container', name: plan.name });
  return plan.noted;
}

/**
 * Restores from archives already in the plan's work folder and checks the result. The container
 * and its volumes are noted in the work's undo list before podman creates them (podman creates
 * them before CRIU runs, so a failed restore leaves them "Created"; planRestore made sure their
 * names were free, so whatever has them is ours). The caller owns the work: it abandons it on
 * failure, and finishes it once the copy is what it wanted.
 */
export async function restorePushed(core: Core, plan: RestorePlan, pushed: PushedArchive[], control: WorkControl = {}): Promise<RestoredContainer> {
  const progress = control.progress ?? noProgress;
  const { target, name } = plan;
  throwIfAborted(control.signal);
  progress({ phase: 'restore', message: `Restoring ${name} on ${target.name}` });
  await noteRestoredContainer(plan);
  const archive = pushed.at(-1)!;
  const options: RestoreOptions = { ...plan.options, ...(plan.parent && { importPrevious: pushed[0]!.path }) };
  // Restores are short and must not be left half done: no kill on cancel, only afterwards.
  await target.podman(podman.restore({ archive: archive.path }, options));
  const restored = await inspectOne(target, name);
  if (!restored.State.Running) {
    throw new SnapdebugError(`${name} was restored on ${target.name} but is ${restored.State.Status}, not running.`);
  }
  core.log(`restored ${plan.meta.id} on ${target.name} as ${name} (pid ${restored.State.Pid})${plan.fence ? `, fenced on ${plan.fence.network}` : ''}`);
  core.store.audit.record({ action: 'restore', host: target.name, container: name, snapshot: plan.meta.id, detail: plan.asCopy ? (plan.fence ? 'fenced copy' : 'copy') : 'migration' });
  return { host: target.name, name, id: restored.Id, snapshot: plan.meta.id, pid: restored.State.Pid, ...(plan.fence && { fence: { allowed: plan.fence.allowed } }) };
}

export async function restoreSnapshot(core: Core, request: RestoreRequest, control: WorkControl = {}): Promise<RestoredContainer> {
  const tracker = phaseTracker(control.progress);
  const tracked = { ...control, progress: tracker.sink };
  const meta = core.store.get(request.snapshot);
  const plan = await planRestore(core, meta, { ...request, lookForKept: true }, tracked);
  try {
    const pushed: PushedArchive[] = [];
    if (plan.parent) pushed.push(await pushSnapshot(core, plan.parent, plan.work, { role: 'previous' }, tracked));
    const rewrite = copyRewrite(plan);
    // A host that keeps this snapshot's archive (verified by its sha256) makes the copy's from it.
    const { kept } = plan;
    if (kept && rewrite) {
      tracker.sink({ phase: 'push', message: `${plan.target.name} keeps ${meta.id} (sha256 verified there): the copy is made from it, nothing is sent` });
      pushed.push(await copyFromKept(plan.work, meta, kept, rewrite, control.signal));
      core.log(`${plan.target.name} keeps ${meta.id} at ${kept}: the copy's archive was made there, nothing sent from here`);
      core.store.audit.record({ action: 'push', host: plan.target.name, container: meta.source.container, snapshot: meta.id, detail: `${plan.work.file('archive.tar')} (made from the archive kept at ${kept})` });
    } else pushed.push(await pushSnapshot(core, meta, plan.work, rewrite ? { rewrite } : {}, tracked));
    const restored = await restorePushed(core, plan, pushed, tracked);
    tracker.sink({ phase: 'cleanup', message: `Removing the temporary archive from ${plan.target.name}` });
    await plan.work.finish();
    return restored;
  } catch (error) {
    const undone = await plan.work.abandon(core.log);
    throw withCleanup(error, tracker.phase(), [{ host: request.to, undone }]);
  }
}

/** The seed article's `podman container restore [--keep] NAME`: a checkpointed container, in place. */
export async function restoreInPlace(
  core: Core,
  request: { host: string; container: string; options: Pick<RestoreOptions, 'keep' | 'tcpEstablished' | 'tcpClose' | 'fileLocks' | 'ignoreStaticIp' | 'ignoreStaticMac' | 'printStats'> },
  control: WorkControl = {},
): Promise<RestoredContainer> {
  const host = core.hosts.get(request.host);
  await host.requireFlags('restore', restoreFlags(request.options));
  const before = await inspectOne(host, request.container, control.signal);
  if (before.State.Running) throw new SnapdebugError(`${request.container} on ${request.host} is already running.`);
  if (!before.State.Checkpointed) {
    throw new SnapdebugError(`${request.container} on ${request.host} holds no checkpoint to restore in place.`, {
      fix: { text: 'Checkpoint it and stop it first, or restore a snapshot from the store.', options: [{ name: 'checkpoint.leaveRunning', value: 'false' }] },
    });
  }
  (control.progress ?? noProgress)({ phase: 'restore', message: `Restoring ${request.container} in place on ${request.host}` });
  await host.podman(podman.restore({ container: request.container }, request.options));
  const after = await inspectOne(host, request.container);
  core.store.audit.record({ action: 'restore-in-place', host: request.host, container: request.container });
  if (!after.State.Running) throw new SnapdebugError(`${request.container} was restored on ${request.host} but is ${after.State.Status}.`);
  return { host: request.host, name: after.Name, id: after.Id, snapshot: '', pid: after.State.Pid };
}
