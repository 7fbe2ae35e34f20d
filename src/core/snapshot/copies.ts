// Copies: containers we restored from snapshots, recognised by their snapdebug.origin label. Only
// a container carrying that label can be discarded through us, so production is never removed by
// a mistyped name.
import type { Core } from '../core';
import { podman } from '../podman/commands';
import type { PsEntry } from '../podman/schemas';
import { SnapdebugError } from '../util/errors';
import { originLabel, sourceLabel, volumesLabel } from './restore';
import { criuConfigLabel, removeCriuConfig } from './tcpClose';
import { decodeAllowed, type AllowedEgress } from '../fence/egress';
import { takeDownFence } from '../fence/fence';
import { fenceAllowLabel, fenceLabel, validateFenceId } from '../fence/rules';

export interface CopyInfo {
  host: string;
  name: string;
  id: string;
  state: string;
  snapshot: string;
  source: string | undefined;
  /** The CRIU options file written for it on its host (tcpClose.ts), removed with it. */
  criuConfig?: string;
  /** Its own named volumes (restore.ts copyVolumes), removed with it. */
  volumes?: string[];
  /** Its command line as podman lists it (the runtime it runs shows there). */
  command?: string;
  /** Set when it was restored fenced (fence/): its fence's id and what it may still reach. */
  fence?: { id: string; allowed: AllowedEgress[] };
  /** When it was restored (ISO): podman creates a copy's container at restore time. */
  restoredAt?: string;
}

/** A fence as a copy's labels say, if they say one well formed. */
function fenceFromLabels(labels: Record<string, string>): CopyInfo['fence'] {
  const id = labels[fenceLabel];
  if (id === undefined) return undefined;
  try {
    return { id: validateFenceId(id), allowed: decodeAllowed(labels[fenceAllowLabel]) };
  } catch {
    return undefined;
  }
}

/** Whether a copy has run longer than `hours` (0: never stale): a twin of production, holding its data. */
export function isStale(copy: Pick<CopyInfo, 'restoredAt'>, hours: number, now = new Date()): boolean {
  if (hours <= 0 || copy.restoredAt === undefined) return false;
  return now.getTime() - Date.parse(copy.restoredAt) > hours * 3_600_000;
}

export function copyFromPs(host: string, entry: PsEntry): CopyInfo | undefined {
  const snapshot = entry.Labels[originLabel];
  if (snapshot === undefined) return undefined;
  const criuConfig = entry.Labels[criuConfigLabel];
  const volumes = entry.Labels[volumesLabel]?.split(',').filter(Boolean);
  const fence = fenceFromLabels(entry.Labels);
  return {
    host,
    name: entry.Names[0] ?? entry.Id.slice(0, 12),
    id: entry.Id,
    state: entry.State,
    snapshot,
    source: entry.Labels[sourceLabel],
    ...(criuConfig && { criuConfig }),
    ...(volumes?.length && { volumes }),
    ...(entry.Command?.length && { command: entry.Command.join(' ') }),
    ...(fence && { fence }),
    ...(entry.Created !== undefined && { restoredAt: new Date(entry.Created * 1000).toISOString() }),
  };
}

export async function listCopies(core: Core, host: string, signal?: AbortSignal): Promise<CopyInfo[]> {
  const entries = await core.hosts.get(host).podman(podman.ps(), signal ? { signal } : {});
  return entries.flatMap((entry) => copyFromPs(host, entry) ?? []);
}

/** A copy on a host by name or id prefix; undefined when no container there is one of our copies. */
export async function findCopy(core: Core, host: string, name: string, signal?: AbortSignal): Promise<CopyInfo | undefined> {
  return (await listCopies(core, host, signal)).find((c) => c.name === name || c.id.startsWith(name));
}

export async function discardCopy(core: Core, host: string, name: string): Promise<CopyInfo> {
  const copy = await findCopy(core, host, name);
  if (!copy) {
    throw new SnapdebugError(`${name} on ${host} is not a copy restored by snapdebug (no ${originLabel} label); refusing to remove it.`);
  }
  // A copy is a debugging twin: nothing to shut down gracefully, so no SIGTERM grace period.
  const target = core.hosts.get(host);
  await target.podman(podman.remove(copy.name, { force: true, stopSeconds: 0 }));
  await removeCriuConfig(target, copy.criuConfig);
  // Its network and rules; the host removes them only if that network was made for this copy.
  if (copy.fence) await takeDownFence(target, core.settings.remoteTempDir, copy.fence.id, copy.name, core.log);
  // Only volumes named after this copy: a label cannot make us remove anything else.
  for (const volume of copy.volumes ?? []) {
    if (volume.startsWith(`${copy.name}-`)) await target.podman(podman.volumeRemove(volume)).catch((error: Error) => core.log(`could not remove volume ${volume} on ${host}: ${error.message}`));
  }
  core.log(`discarded copy ${host}/${copy.name} of ${copy.snapshot}`);
  core.store.audit.record({ action: 'discard', host, container: copy.name, snapshot: copy.snapshot });
  return copy;
}
