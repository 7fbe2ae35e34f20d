// What a snapshot holds, as tree items under it in the Snapshots view: its process tree, and under
// each process its Environment (names only: values are secrets, shown by "Show Environment
// Values"), Open files, Sockets and Memory maps. Read from the archive once per snapshot (cached
// here until a refresh) and never logged.
import * as vscode from 'vscode';
import { formatBytes, inspectSnapshot, memoryMaps, snapshotArchiveFile, type ProcessInfo, type SnapshotContents, type SnapshotMeta } from '../../core';
import type { Services } from '../services';
import { contextValues } from './contextValues';

export class ProcessNode {
  readonly kind = 'process';
  constructor(readonly meta: SnapshotMeta, readonly process: ProcessInfo, readonly all: ProcessInfo[]) {}
}

export type GroupKind = 'environment' | 'files' | 'sockets' | 'maps';
export class GroupNode {
  readonly kind = 'group';
  constructor(readonly meta: SnapshotMeta, readonly process: ProcessInfo, readonly group: GroupKind) {}
}

export class EntryNode {
  readonly kind = 'entry';
  constructor(readonly label: string, readonly description: string, readonly tooltip: string, readonly icon?: string) {}
}

export class NoteNode {
  readonly kind = 'note';
  constructor(readonly text: string, readonly detail?: string) {}
}

export type ContentsNode = ProcessNode | GroupNode | EntryNode | NoteNode;

const groupLabels: Record<GroupKind, string> = { environment: 'Environment', files: 'Open files', sockets: 'Sockets', maps: 'Memory maps' };
const groupContext = {
  environment: contextValues.snapshotEnvironment,
  files: contextValues.snapshotFiles,
  sockets: contextValues.snapshotSockets,
  maps: contextValues.snapshotMaps,
} as const;
const groupIcons: Record<GroupKind, string> = { environment: 'symbol-variable', files: 'files', sockets: 'plug', maps: 'symbol-array' };

/** Reads each snapshot's contents once; a refresh of the view forgets them. */
export class ContentsCache {
  private readonly contents = new Map<string, Promise<SnapshotContents>>();

  constructor(private readonly services: Pick<Services, 'core'>) {}

  get(meta: SnapshotMeta): Promise<SnapshotContents> {
    let pending = this.contents.get(meta.id);
    if (!pending) {
      pending = inspectSnapshot(snapshotArchiveFile(this.services.core(), meta));
      pending.catch(() => this.contents.delete(meta.id)); // a failure is asked again next time
      this.contents.set(meta.id, pending);
    }
    return pending;
  }

  clear(): void {
    this.contents.clear();
  }
}

/** The top of the process tree: processes whose parent is not in the snapshot. */
export async function processRoots(cache: ContentsCache, meta: SnapshotMeta): Promise<ContentsNode[]> {
  try {
    const { processes } = await cache.get(meta);
    return processes.filter((p) => !processes.some((q) => q.pid === p.ppid && q.pid !== p.pid)).map((p) => new ProcessNode(meta, p, processes));
  } catch (error) {
    return [new NoteNode('Could not read the processes', (error as Error).message)];
  }
}

export async function contentsChildren(services: Pick<Services, 'core'>, node: ContentsNode): Promise<ContentsNode[]> {
  if (node.kind === 'process') {
    const groups = (['environment', 'files', 'sockets', 'maps'] as const).map((g) => new GroupNode(node.meta, node.process, g));
    const children = node.all.filter((p) => p.ppid === node.process.pid && p.pid !== node.process.pid).map((p) => new ProcessNode(node.meta, p, node.all));
    return [...groups, ...children];
  }
  if (node.kind !== 'group') return [];
  const p = node.process;
  switch (node.group) {
    case 'environment':
      return p.envNames.map((name) => new EntryNode(name, '••••••', 'Value hidden. Right-click Environment → Show Environment Values to see them.', 'symbol-variable'));
    case 'files':
      return p.files.map((f) => new EntryNode(f.fd, f.path, `${f.type}${f.position !== undefined ? `, at byte ${f.position}` : ''}`, 'file'));
    case 'sockets':
      return p.sockets.map((s) => {
        const ends = `${s.source ?? ''}${s.sourcePort ? `:${s.sourcePort}` : ''}${s.destinationPort ? ` → ${s.destination}:${s.destinationPort}` : ''}`;
        return new EntryNode(`${s.fd}`, `${s.protocol} ${s.state} ${ends}`, `${s.family} ${s.protocol}, socket:[${s.inode}]`, 'plug');
      });
    case 'maps': {
      try {
        const [maps] = await memoryMaps(snapshotArchiveFile(services.core(), node.meta), { pid: p.pid });
        return (maps?.areas ?? []).map(
          (a) => new EntryNode(`${a.start.toString(16)}-${a.end.toString(16)}`, `${a.permissions} ${a.mapping}`, `${formatBytes(a.end - a.start)} mapped, ${formatBytes(a.residentBytes)} in the snapshot`, 'symbol-array'),
        );
      } catch (error) {
        return [new NoteNode('Could not read the memory maps', (error as Error).message)];
      }
    }
  }
}

export function contentsItem(node: ContentsNode): vscode.TreeItem {
  switch (node.kind) {
    case 'process': {
      const p = node.process;
      const item = new vscode.TreeItem(`[${p.pid}] ${p.command}`, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `snapshot:${node.meta.id}:process:${p.pid}`;
      item.description = `${p.args.join(' ')}${p.threads.length > 1 ? ` · ${p.threads.length} threads` : ''} · ${formatBytes(p.residentBytes)}`;
      item.tooltip = `${p.args.join(' ')}\nprogram ${p.exe}, in ${p.cwd}\n${p.threads.length} thread(s), ${formatBytes(p.residentBytes)} of memory in the snapshot`;
      item.contextValue = contextValues.snapshotProcess;
      item.iconPath = new vscode.ThemeIcon('terminal');
      return item;
    }
    case 'group': {
      const counts: Record<GroupKind, () => string> = {
        environment: () => `${node.process.envNames.length} variables, values hidden`,
        files: () => `${node.process.files.length}`,
        sockets: () => `${node.process.sockets.length}`,
        maps: () => `${formatBytes(node.process.mappedBytes)} mapped`,
      };
      const item = new vscode.TreeItem(groupLabels[node.group], vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `snapshot:${node.meta.id}:process:${node.process.pid}:${node.group}`;
      item.description = counts[node.group]();
      item.contextValue = groupContext[node.group];
      item.iconPath = new vscode.ThemeIcon(groupIcons[node.group]);
      return item;
    }
    case 'entry': {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.description = node.description;
      item.tooltip = node.tooltip;
      item.contextValue = contextValues.snapshotEntry;
      if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon);
      return item;
    }
    case 'note': {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      if (node.detail) item.tooltip = node.detail;
      item.description = node.detail;
      item.contextValue = contextValues.message;
      item.iconPath = new vscode.ThemeIcon('warning');
      return item;
    }
  }
}
