// Asking for what a command needs when it runs from the palette: a host, a container, a
// snapshot, a copy, options. From the tree, the clicked item answers these instead.
import * as vscode from 'vscode';
import {
  checkpointOptionInfo,
  formatAge,
  formatBytes,
  listCopies,
  listSnapshots,
  offeredOptions,
  optionKeys,
  restoreOptionInfo,
  validateContainerRef,
  type CheckpointOptions,
  type CopyInfo,
  type OptionTable,
  type RestoreOptions,
  type SnapshotMeta,
} from '../../core';
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
  const all = listSnapshots(services.core(), { kind: kinds });
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

/**
 * A multi-select of the table's options offered at the start of the work, those the host's podman
 * has (read from its --help), pre-selected from the settings (else the table's defaults). Labels,
 * flags and descriptions are the table's, as the CLI's --help shows them. undefined when dismissed.
 */
async function pickOptions<T>(title: string, table: OptionTable<T>, offered: Set<keyof T>, defaults: Partial<T>, also: (key: keyof T) => boolean = () => true): Promise<Partial<T> | undefined> {
  const keys = optionKeys(table).filter((key) => table[key].offered && offered.has(key) && also(key));
  const items = keys.map((key) => {
    const info = table[key];
    return { label: info.label, description: info.flag, detail: info.description, picked: (defaults[key] ?? info.default) === true, key };
  });
  const picked = await vscode.window.showQuickPick(items, { title, canPickMany: true, ignoreFocusOut: true, placeHolder: 'Options (Enter to accept)' });
  if (!picked) return undefined;
  return Object.fromEntries(keys.map((key) => [key, picked.some((p) => p.key === key)])) as Partial<T>;
}

export async function pickCheckpointOptions(services: Services, host: string, leaveRunning: boolean): Promise<CheckpointOptions | undefined> {
  const settings = services.settings().checkpoint;
  const offered = await offeredOptions(services.core(), host, 'checkpoint');
  // A pre-checkpoint leaves the container running: not offered when it is to stop.
  const picked = await pickOptions(leaveRunning ? 'Checkpoint (the container keeps running)' : 'Checkpoint and Stop', checkpointOptionInfo, offered, settings, (key) => leaveRunning || key !== 'preCheckpoint');
  if (!picked) return undefined;
  return { ...picked, leaveRunning, compress: settings.compress };
}

export async function pickRestoreOptions(services: Services, host: string, defaultName: string): Promise<RestoreOptions | undefined> {
  const offered = await offeredOptions(services.core(), host, 'restore');
  // No "TCP established": podman restores connections only under the original name, and a copy
  // always gets its own (a snapshot taken with its connections gives copies them closed).
  const picked = await pickOptions(`Restore on ${host}`, restoreOptionInfo, offered, services.settings().restore);
  if (!picked) return undefined;
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
  return { ...picked, name };
}
