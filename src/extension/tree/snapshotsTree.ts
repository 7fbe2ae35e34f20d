// The local store: one item per snapshot (container, source host, age, size, compression, "old"
// past snapdebug.store.maxAgeDays); its children are its process tree, read from the archive
// (snapshotContents.ts), then the metadata, CRIU's statistics (the frozen time production saw)
// included. Metadata files the store will not act on show as warnings.
import * as vscode from 'vscode';
import { formatAge, formatBytes, formatDuration, isOlderThan, scanSnapshots, type InvalidSnapshotFile, type SnapshotMeta } from '../../core';
import type { Services } from '../services';
import { contextValues } from './contextValues';
import { ContentsCache, contentsChildren, contentsItem, processRoots, type ContentsNode } from './snapshotContents';

export class SnapshotNode {
  readonly kind = 'snapshot';
  constructor(readonly meta: SnapshotMeta) {}
}
export class DetailNode {
  readonly kind = 'detail';
  constructor(readonly label: string, readonly value: string) {}
}
export class InvalidSnapshotNode {
  readonly kind = 'invalid';
  constructor(readonly file: InvalidSnapshotFile) {}
}
export type SnapshotsTreeNode = SnapshotNode | DetailNode | ContentsNode | InvalidSnapshotNode;

export function snapshotDetails(meta: SnapshotMeta): DetailNode[] {
  const us = (value: number) => formatDuration(value / 1000);
  const details: Array<[string, string | undefined]> = [
    ['source', `${meta.source.host}/${meta.source.container}`],
    ['image', meta.source.image],
    ['taken', new Date(meta.createdAt).toLocaleString()],
    ['size', `${formatBytes(meta.size)} (${meta.compression})`],
    ['frozen time', meta.criu ? us(meta.criu.frozenTimeUs) : undefined],
    ['freezing time', meta.criu ? us(meta.criu.freezingTimeUs) : undefined],
    ['memory dump', meta.criu ? `${us(meta.criu.memdumpTimeUs)}, ${meta.criu.pagesWritten} pages written of ${meta.criu.pagesScanned} scanned` : undefined],
    ['source afterwards', meta.options.leaveRunning ? (meta.sourceLeftRunning ? 'kept running' : 'not running') : 'stopped'],
    ['options', Object.entries(meta.options).filter(([, v]) => v !== undefined && v !== false).map(([k, v]) => (v === true ? k : `${k}=${String(v)}`)).join(', ')],
    ['based on', meta.parent],
    ['podman / CRIU', `${meta.podmanVersion} / ${meta.criuVersion ?? 'unknown'}`],
    ['sha256', meta.sha256],
  ];
  return details.filter((d): d is [string, string] => d[1] !== undefined && d[1] !== '').map(([label, value]) => new DetailNode(label, value));
}

export class SnapshotsTree implements vscode.TreeDataProvider<SnapshotsTreeNode> {
  private readonly changed = new vscode.EventEmitter<SnapshotsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  readonly contents: ContentsCache;

  constructor(private readonly services: Pick<Services, 'core' | 'settings' | 'clock'>) {
    this.contents = new ContentsCache(services);
  }

  refresh(): void {
    this.contents.clear();
    this.changed.fire(undefined);
  }

  getTreeItem(node: SnapshotsTreeNode): vscode.TreeItem {
    if (node.kind !== 'detail' && node.kind !== 'snapshot' && node.kind !== 'invalid') return contentsItem(node);
    if (node.kind === 'detail') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.description = node.value;
      item.tooltip = `${node.label}: ${node.value}`;
      item.contextValue = contextValues.snapshotDetail;
      return item;
    }
    if (node.kind === 'invalid') {
      const name = node.file.file.split('/').pop()!;
      const item = new vscode.TreeItem(`not a snapshot: ${name}`, vscode.TreeItemCollapsibleState.None);
      item.id = `invalid:${name}`;
      item.description = node.file.problem;
      item.tooltip = `${node.file.file}: ${node.file.problem}. snapdebug leaves this file and any archive beside it alone.`;
      item.contextValue = contextValues.message;
      item.iconPath = new vscode.ThemeIcon('warning');
      return item;
    }
    const meta = node.meta;
    const now = new Date(this.services.clock.now());
    const old = isOlderThan(meta, this.services.settings().storeMaxAgeDays, now);
    const item = new vscode.TreeItem(meta.source.container, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `snapshot:${meta.id}`;
    item.contextValue = meta.kind === 'pre-checkpoint' ? contextValues.preCheckpoint : contextValues.snapshot;
    item.description = `${meta.source.host} · ${formatAge(new Date(meta.createdAt), now)} · ${formatBytes(meta.size)} ${meta.compression}${meta.kind === 'pre-checkpoint' ? ' · pre-checkpoint' : ''}${old ? ' · old' : ''}`;
    item.tooltip = new vscode.MarkdownString(`**${meta.id}**\n\n${meta.kind} of ${meta.source.host}/${meta.source.container}${meta.criu ? `, frozen ${formatDuration(meta.criu.frozenTimeUs / 1000)}` : ''}`);
    item.iconPath = new vscode.ThemeIcon(meta.kind === 'pre-checkpoint' ? 'history' : 'archive');
    return item;
  }

  async getChildren(node?: SnapshotsTreeNode): Promise<SnapshotsTreeNode[]> {
    if (!node) {
      const { snapshots, invalid } = scanSnapshots(this.services.core());
      return [...snapshots.map((meta) => new SnapshotNode(meta)), ...invalid.map((file) => new InvalidSnapshotNode(file))];
    }
    if (node.kind === 'detail' || node.kind === 'invalid') return [];
    if (node.kind !== 'snapshot') return contentsChildren(this.services, node);
    // A pre-checkpoint carries memory only: it has no process tree to show.
    const processes = node.meta.kind === 'checkpoint' ? await processRoots(this.contents, node.meta) : [];
    return [...processes, ...snapshotDetails(node.meta)];
  }
}
