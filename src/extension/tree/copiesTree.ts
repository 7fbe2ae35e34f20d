// Copies restored by us (snapdebug.origin label), per host, each with the snapshot it came from;
// those restored longer ago than snapdebug.copies.staleAfterHours are marked stale.
import * as vscode from 'vscode';
import { describeEgress, errorSentence, formatAge, isStale, listCopies, runtimeOf, type CopyInfo } from '../../core';
import type { Services } from '../services';
import { contextValues, type ContextValue } from './contextValues';

const slowHostMs = 2000;

/** Running Node.js and Java copies get their own values: their menus offer heap snapshots, profiles, dumps. */
export function copyContextValue(copy: Pick<CopyInfo, 'state' | 'command'>): ContextValue {
  if (copy.state !== 'running') return contextValues.copyStopped;
  const runtime = copy.command === undefined ? 'native' : runtimeOf(copy.command);
  if (runtime === 'node') return contextValues.copyRunningNode;
  if (runtime === 'java') return contextValues.copyRunningJava;
  return contextValues.copyRunning;
}

/** "fenced", "fenced, allows 1" or "not fenced": what the copy can reach, at a glance. */
export function fenceWords(copy: Pick<CopyInfo, 'fence'>): string {
  if (!copy.fence) return 'not fenced';
  const count = copy.fence.allowed.length;
  return count === 0 ? 'fenced' : `fenced, allows ${count}`;
}

function fenceTooltip(copy: Pick<CopyInfo, 'fence' | 'host'>): string {
  if (!copy.fence) return `not fenced: it reaches whatever ${copy.host} reaches`;
  const allowed = copy.fence.allowed.map(describeEgress);
  return `fenced: it reaches nothing outside itself${allowed.length ? ` but ${allowed.join(', ')}` : ''}`;
}

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

  constructor(private readonly services: Pick<Services, 'core' | 'hostNames' | 'clock' | 'settings'>) {}

  /** One listing per host per refresh, shared by re-renders while it is still running. */
  private listings = new Map<string, Promise<CopyHostNode>>();

  refresh(): void {
    this.listings.clear();
    this.changed.fire(undefined);
  }

  private listing(host: string): Promise<CopyHostNode> {
    let listing = this.listings.get(host);
    if (!listing) {
      listing = listCopies(this.services.core(), host).then(
        (copies) => new CopyHostNode(host, copies),
        (error: unknown) => new CopyHostNode(host, undefined, errorSentence(error)),
      );
      this.listings.set(host, listing);
    }
    return listing;
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
    item.contextValue = copyContextValue(copy);
    const now = new Date(this.services.clock.now());
    const stale = isStale(copy, this.services.settings().copiesStaleAfterHours, now);
    const restored = copy.restoredAt ? formatAge(new Date(copy.restoredAt), now) : undefined;
    item.description = `${copy.state} · ${fenceWords(copy)} · from ${copy.snapshot}${restored ? ` · restored ${restored}` : ''}${stale ? ' · stale' : ''}`;
    item.tooltip = `${copy.host}/${copy.name}\nrestored from snapshot ${copy.snapshot}${restored ? ` ${restored}` : ''}${copy.source ? `\noriginal: ${copy.source}` : ''}${
      stale ? "\nstale: it still holds production's data; discard it when done" : ''
    }\n${fenceTooltip(copy)}`;
    item.iconPath = new vscode.ThemeIcon(
      stale ? 'warning' : 'debug-alt',
      stale ? new vscode.ThemeColor('list.warningForeground') : copy.state === 'running' ? new vscode.ThemeColor('testing.iconPassed') : undefined,
    );
    return item;
  }

  async getChildren(node?: CopiesTreeNode): Promise<CopiesTreeNode[]> {
    if (!node) {
      // Hosts in parallel; a host that fails says so on its own line, and one that is slow does
      // not hold the others back: it shows as loading and the view redraws when it answers.
      const hosts = await Promise.all(
        this.services.hostNames().map((host) => {
          const listing = this.listing(host);
          const slow = new Promise<CopyHostNode>((resolve) => {
            const cancel = this.services.clock.after(slowHostMs, () => {
              resolve(new CopyHostNode(host, undefined, 'loading…'));
              void listing.then(() => this.changed.fire(undefined));
            });
            void listing.then(cancel);
          });
          return Promise.race([listing, slow]);
        }),
      );
      return hosts.filter((h) => h.error !== undefined || (h.copies?.length ?? 0) > 0);
    }
    return node.kind === 'copy-host' ? (node.copies ?? []).map((c) => new CopyNode(c)) : [];
  }
}
