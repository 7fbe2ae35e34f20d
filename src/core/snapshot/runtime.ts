// Which OCI runtime restores a snapshot. podman restores a checkpoint with the runtime that took it
// (config.dump's "runtime"), not the target's default: a crun checkpoint cannot be restored where
// podman has no crun (`default OCI runtime "crun" not found`), and crun and runc do not restore
// each other's checkpoints (seen in the lab: "criu failed: type NOTIFY" and an EPERM from CRIU).
// So the runtime is known before anything is sent, and a target that lacks it is refused. The
// same goes for the cgroup version: a container on a cgroup v1 host has v1 hierarchies mounted
// under /sys/fs/cgroup, which CRIU cannot map onto a cgroup v2 host's single mount ("mnt: No
// mapping for …", seen from prod to edge), and the other way round.
import { existsSync } from 'node:fs';
import { inspectArchiveFile } from '../archive/checkpointArchive';
import type { Core } from '../core';
import type { Host } from '../host';
import { podman } from '../podman/commands';
import { SnapdebugError } from '../util/errors';
import type { SnapshotMeta } from './store';

/** The runtime a snapshot was taken with: recorded at checkpoint, else read from its archive here. */
export async function snapshotRuntime(core: Pick<Core, 'store'>, meta: SnapshotMeta): Promise<string | undefined> {
  if (meta.source.runtime) return meta.source.runtime;
  const archive = core.store.archivePath(meta);
  return existsSync(archive) ? (await inspectArchiveFile(archive)).runtime : undefined;
}

/**
 * The runtime that will restore on `target`: the snapshot's when known, else the target's default.
 * Refuses, in one sentence and before anything moves, a target whose podman lacks that runtime.
 */
export async function restoringRuntime(target: Host, snapshotRuntimeName: string | undefined, signal?: AbortSignal): Promise<string> {
  const own = (await target.capabilities()).info.host.ociRuntime.name;
  if (snapshotRuntimeName === undefined || snapshotRuntimeName === own) return own;
  if (await target.podman(podman.runtimeAvailable(snapshotRuntimeName), signal ? { signal } : {})) return snapshotRuntimeName;
  throw new SnapdebugError(
    `A checkpoint taken with ${snapshotRuntimeName} cannot be restored on ${target.name}: podman there has no ${snapshotRuntimeName} (its runtime is ${own}), and podman restores a checkpoint only with the runtime that took it.`,
    { fix: `Install ${snapshotRuntimeName} on ${target.name}, or restore on a host that has it.` },
  );
}

/** Refuses, before anything moves, a target whose cgroup version differs from the source's. */
export async function requireCgroupVersion(target: Host, sourceHost: string, sourceVersion: string | undefined): Promise<void> {
  if (sourceVersion === undefined) return; // a snapshot from before this was recorded: podman will tell
  const own = (await target.capabilities()).info.host.cgroupVersion;
  if (own === sourceVersion) return;
  throw new SnapdebugError(
    `A checkpoint taken on ${sourceHost} (cgroup ${sourceVersion}) cannot be restored on ${target.name} (cgroup ${own}): CRIU cannot map the container's cgroup mounts from one to the other.`,
    { fix: `Restore on a host with cgroup ${sourceVersion}, like ${sourceHost}.` },
  );
}
