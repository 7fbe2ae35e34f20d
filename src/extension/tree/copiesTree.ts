// Copies restored by us (snapdebug.origin label), per host, each with the snapshot it came from.
import * as vscode from 'vscode';
import { listCopies, type CopyInfo } from '../../core/snapshot/copies';
import { describeError } from '../../core/util/errors';
import type { Services } from '../services';
import { contextValues } from './contextValues';

export class CopyHostNode {
  readonly kind = 'copy-host';
  constructor(readonly host: string, readonly copies: CopyInfo[] | undefined, readonly error?: string) {}
}
export class CopyNode {
  readonly kind = 'copy';
  constructor(readonly copy: CopyInfo) {}
}
export type CopiesTreeNode = CopyHostNode | CopyNode;

export class CopiesTree implements vscode.TreeDataProvider<CopiesTreeNode> {
  private readonly changed = new vscode.EventEmitter<CopiesTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly services: Pick<Services, 'core' | 'hostNames'>) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: CopiesTreeNode): vscode.TreeItem {
    if (node.kind === 'copy-host') {
      const item = new vscode.TreeItem(node.host, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `copies:${node.host}`;
      item.contextValue = contextValues.copyHost;
      item.description = node.error ?? (node.copies?.length === 1 ? '1 copy' : `${node.copies?.length ?? 0} copies`);
      item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : 'server');
      return item;
    }
    const copy = node.copy;
    const item = new vscode.TreeItem(copy.name, vscode.TreeItemCollapsibleState.None);
    item.id = `copy:${copy.host}/${copy.id}`;
    item.contextValue = copy.state === 'running' ? contextValues.copyRunning : contextValues.copyStopped;
    item.description = `${copy.state} · from ${copy.snapshot}`;
    item.tooltip = `${copy.host}/${copy.name}\nrestored from snapshot ${copy.snapshot}${copy.source ? `\noriginal: ${copy.source}` : ''}`;
    item.iconPath = new vscode.ThemeIcon('debug-alt', copy.state === 'running' ? new vscode.ThemeColor('testing.iconPassed') : undefined);
    return item;
  }

  async getChildren(node?: CopiesTreeNode): Promise<CopiesTreeNode[]> {
    if (!node) {
      const core = this.services.core();
      // Hosts in parallel; a host that fails says so on its own line.
      const hosts = await Promise.all(
        this.services.hostNames().map(async (host) => {
          try {
            return new CopyHostNode(host, await listCopies(core, host));
          } catch (error) {
            return new CopyHostNode(host, undefined, describeError(error).split('\n')[0]);
          }
        }),
      );
      return hosts.filter((h) => h.error !== undefined || (h.copies?.length ?? 0) > 0);
    }
    return node.kind === 'copy-host' ? (node.copies ?? []).map((c) => new CopyNode(c)) : [];
  }
}
