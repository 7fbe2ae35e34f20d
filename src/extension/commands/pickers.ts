// Asking for what a command needs when it runs from the palette: a host, a container, a
// snapshot, a copy, options. From the tree, the clicked item answers these instead.
import * as vscode from 'vscode';
import type { CheckpointOptions, RestoreOptions } from '../../core/podman/options';
import { checkpointOptionInfo, restoreOptionInfo } from '../../core/podman/options';
import { validateContainerRef } from '../../core/podman/names';
import { listCopies, type CopyInfo } from '../../core/snapshot/copies';
import type { SnapshotMeta } from '../../core/snapshot/store';
import { formatAge, formatBytes } from '../../core/util/format';
import type { Services } from '../services';
import type { ContainerInfo } from '../tree/hostsTree';

export async function pickHost(services: Services, placeHolder: string, exclude: string[] = []): Promise<string | undefined> {
  const hosts = services.hostNames().filter((h) => !exclude.includes(h));
  if (hosts.length === 0) {
    void vscode.window.showWarningMessage('No other host is configured: add one first (Snapshot Debugger: Add Host…).');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(hosts.map((label) => ({ label })), { placeHolder, ignoreFocusOut: true });
  return picked?.label;
}

export async function pickContainer(services: Services, want: (c: ContainerInfo) => boolean, placeHolder: string): Promise<ContainerInfo | undefined> {
  const host = await pickHost(services, 'Host of the container');
  if (!host) return undefined;
  await services.views.hosts.retry(host);
  const candidates = services.views.hosts.containers(host).filter(want);
  if (candidates.length === 0) {
    void vscode.window.showWarningMessage(`No suitable container on ${host}.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    candidates.map((info) => ({ label: info.name, description: `${info.image} · ${info.state}`, info })),
    { placeHolder, ignoreFocusOut: true },
  );
  return picked?.info;
}

export async function pickSnapshot(services: Services, placeHolder: string, kinds: SnapshotMeta['kind'][] = ['checkpoint']): Promise<SnapshotMeta | undefined> {
  const all = services.core().store.list().filter((m) => kinds.includes(m.kind));
  if (all.length === 0) {
    void vscode.window.showWarningMessage('The store holds no snapshots yet: checkpoint a container first.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    all.map((meta) => ({ label: meta.id, description: `${meta.source.host}/${meta.source.container} · ${formatAge(new Date(meta.createdAt))} · ${formatBytes(meta.size)}`, meta })),
    { placeHolder, ignoreFocusOut: true },
  );
  return picked?.meta;
}

export async function pickCopy(services: Services): Promise<CopyInfo | undefined> {
  const core = services.core();
  const copies = (await Promise.all(services.hostNames().map((h) => listCopies(core, h).catch(() => [])))).flat();
  if (copies.length === 0) {
    void vscode.window.showWarningMessage('There are no copies: restore a snapshot first.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    copies.map((copy) => ({ label: copy.name, description: `${copy.host} · ${copy.state} · from ${copy.snapshot}`, copy })),
    { placeHolder: 'Copy', ignoreFocusOut: true },
  );
  return picked?.copy;
}

type BooleanKeys<T> = { [K in keyof T]-?: T[K] extends boolean | undefined ? K : never }[keyof T];

/**
 * A multi-select of boolean options, offering only those the host's podman has (read from its
 * --help), pre-selected from the settings; the placeholder names what this podman lacks, and since
 * which release. undefined when dismissed.
 */
async function pickFlags<K extends string>(
  title: string,
  keys: K[],
  info: Record<K, { flag: string; label: string; description: string; since: string }>,
  host: { offered: Set<string>; podmanVersion: string },
  defaults: Partial<Record<K, boolean>>,
): Promise<Partial<Record<K, boolean>> | undefined> {
  const items = keys
    .filter((key) => host.offered.has(info[key].flag))
    .map((key) => ({ label: info[key].label, description: info[key].flag, detail: info[key].description, picked: defaults[key] === true, key }));
  const lacking = keys.filter((key) => !host.offered.has(info[key].flag)).map((key) => `${info[key].label} (${info[key].flag}, podman ${info[key].since}+)`);
  const placeHolder = `Options (Enter to accept)${lacking.length > 0 ? `; podman ${host.podmanVersion} here has no ${lacking.join(', ')}` : ''}`;
  const picked = await vscode.window.showQuickPick(items, { title, canPickMany: true, ignoreFocusOut: true, placeHolder });
  if (!picked) return undefined;
  return Object.fromEntries(keys.map((key) => [key, picked.some((p) => p.key === key)])) as Partial<Record<K, boolean>>;
}

export async function pickCheckpointOptions(services: Services, host: string, leaveRunning: boolean): Promise<CheckpointOptions | undefined> {
  const settings = services.settings().checkpoint;
  const caps = await services.core().hosts.get(host).capabilities();
  const offered = { offered: caps.checkpointFlags, podmanVersion: caps.podmanVersion };
  const keys: BooleanKeys<CheckpointOptions>[] = ['tcpEstablished', 'fileLocks', 'ignoreRootfs', 'ignoreVolumes', 'keep', ...(leaveRunning ? (['preCheckpoint'] as const) : [])];
  const flags = await pickFlags(leaveRunning ? 'Checkpoint (the container keeps running)' : 'Checkpoint and Stop', keys, checkpointOptionInfo, offered, settings);
  if (!flags) return undefined;
  return { ...flags, leaveRunning, compress: settings.compression };
}

export async function pickRestoreOptions(services: Services, host: string, defaultName: string): Promise<RestoreOptions | undefined> {
  const settings = services.settings().restore;
  const caps = await services.core().hosts.get(host).capabilities();
  const offered = { offered: caps.restoreFlags, podmanVersion: caps.podmanVersion };
  // No "TCP established": podman restores connections only under the original name, and a copy
  // always gets its own (a snapshot taken with its connections gives copies them closed).
  const keys: BooleanKeys<RestoreOptions>[] = ['ignoreStaticIp', 'ignoreStaticMac', 'tcpClose', 'ignoreRootfs', 'ignoreVolumes', 'fileLocks', 'keep'];
  const flags = await pickFlags(`Restore on ${host}`, keys, restoreOptionInfo, offered, settings);
  if (!flags) return undefined;
  const name = await vscode.window.showInputBox({
    title: `Restore on ${host}`,
    prompt: 'Name of the copy',
    value: defaultName,
    ignoreFocusOut: true,
    validateInput: (value) => {
      try {
        validateContainerRef(value);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    },
  });
  if (name === undefined) return undefined;
  return { ...flags, name };
}
