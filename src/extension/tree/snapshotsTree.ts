// The local store: one item per snapshot (container, source host, age, size, compression); its
// children show the metadata, CRIU's statistics (the frozen time production saw) included.
import * as vscode from 'vscode';
import { formatAge, formatBytes, formatDuration, listSnapshots, type SnapshotMeta } from '../../core';
import type { Services } from '../services';
import { contextValues } from './contextValues';

export class SnapshotNode {
  readonly kind = 'snapshot';
  constructor(readonly meta: SnapshotMeta) {}
}
export class DetailNode {
  readonly kind = 'detail';
  constructor(readonly label: string, readonly value: string) {}
}
export type SnapshotsTreeNode = SnapshotNode | DetailNode;

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

  constructor(private readonly services: Pick<Services, 'core'>) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: SnapshotsTreeNode): vscode.TreeItem {
    if (node.kind === 'detail') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.description = node.value;
      item.tooltip = `${node.label}: ${node.value}`;
      item.contextValue = contextValues.snapshotDetail;
      return item;
    }
    const meta = node.meta;
    const item = new vscode.TreeItem(meta.source.container, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `snapshot:${meta.id}`;
    item.contextValue = meta.kind === 'pre-checkpoint' ? contextValues.preCheckpoint : contextValues.snapshot;
    item.description = `${meta.source.host} · ${formatAge(new Date(meta.createdAt))} · ${formatBytes(meta.size)} ${meta.compression}${meta.kind === 'pre-checkpoint' ? ' · pre-checkpoint' : ''}`;
    item.tooltip = new vscode.MarkdownString(`**${meta.id}**\n\n${meta.kind} of ${meta.source.host}/${meta.source.container}${meta.criu ? `, frozen ${formatDuration(meta.criu.frozenTimeUs / 1000)}` : ''}`);
    item.iconPath = new vscode.ThemeIcon(meta.kind === 'pre-checkpoint' ? 'history' : 'archive');
    return item;
  }

  getChildren(node?: SnapshotsTreeNode): SnapshotsTreeNode[] {
    if (!node) return listSnapshots(this.services.core()).map((meta) => new SnapshotNode(meta));
    return node.kind === 'snapshot' ? snapshotDetails(node.meta) : [];
  }
}
