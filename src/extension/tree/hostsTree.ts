// Hosts → containers → processes. Every host is listed at once and filled in as it answers;
// hosts load in parallel, and one that fails shows its error (with a retry action) without
// holding up the others. Processes are read when a container is expanded.
// A host that answers redraws only itself, and only when what it shows changed: a redraw drops
// VS Code's handles to the rows under it, and a context menu open on one of them would then run
// its command with no row at all (the periodic refresh made that happen every 30 s).
import * as vscode from 'vscode';
import { containerProcesses, errorSentence, forgetHost, formatSince, listContainers, type ContainerInfo, type TopProcess } from '../../core';
import { describeForLog } from '../fixes';
import type { Services } from '../services';
import { contextValues } from './contextValues';

export type { ContainerInfo };

type HostState = { status: 'loading' } | { status: 'ok'; containers: ContainerInfo[] } | { status: 'error'; message: string };

export class HostNode {
  readonly kind = 'host';
  constructor(readonly name: string, public state: HostState) {}
}
export class ContainerNode {
  readonly kind = 'container';
  constructor(readonly info: ContainerInfo) {}
}
export class ProcessNode {
  readonly kind = 'process';
  constructor(readonly host: string, readonly container: string, readonly process: TopProcess) {}
}
export class MessageNode {
  readonly kind = 'message';
  constructor(readonly text: string) {}
}
export type HostsTreeNode = HostNode | ContainerNode | ProcessNode | MessageNode;

export function containerContext(info: ContainerInfo): string {
  if (info.state === 'running') return info.copyOf ? contextValues.containerRunningCopy : contextValues.containerRunning;
  return info.checkpointed ? contextValues.containerCheckpointed : contextValues.containerStopped;
}

export class HostsTree implements vscode.TreeDataProvider<HostsTreeNode> {
  private readonly changed = new vscode.EventEmitter<HostsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** One node per host for the life of the view: VS Code redraws a host by the node it was given. */
  private readonly nodes = new Map<string, HostNode>();
  private loading = new Map<string, Promise<void>>();

  constructor(private readonly services: Pick<Services, 'core' | 'hostNames' | 'log'>) {}

  /** Reloads every host (in parallel); resolves when all have answered or failed. */
  refresh(): Promise<void> {
    const names = this.services.hostNames();
    void vscode.commands.executeCommand('setContext', 'snapdebug.noHosts', names.length === 0);
    const before = [...this.nodes.keys()];
    for (const name of before) if (!names.includes(name)) this.nodes.delete(name);
    if (names.length !== before.length || names.some((name, i) => before[i] !== name)) this.changed.fire(undefined);
    return Promise.all(names.map((name) => this.load(name))).then(() => undefined);
  }

  /** Forgets every host's state and redraws the whole view: the settings changed (other hosts, new connections). */
  startOver(): void {
    this.nodes.clear();
    this.changed.fire(undefined);
  }

  /** Reloads one host, dropping its connection first (the retry action). */
  retry(name: string): Promise<void> {
    forgetHost(this.services.core(), name);
    this.show(name, { status: 'loading' });
    return this.load(name);
  }

  containers(host: string): ContainerInfo[] {
    const state = this.nodes.get(host)?.state;
    return state?.status === 'ok' ? state.containers : [];
  }

  private node(name: string): HostNode {
    let node = this.nodes.get(name);
    if (!node) {
      node = new HostNode(name, { status: 'loading' });
      this.nodes.set(name, node);
    }
    return node;
  }

  /** Sets a host's state and redraws that host, unless nothing it shows changed. */
  private show(name: string, state: HostState): void {
    const node = this.nodes.get(name);
    if (!node) return; // no longer configured
    if (JSON.stringify(node.state) === JSON.stringify(state)) return;
    node.state = state;
    this.changed.fire(node);
  }

  private load(name: string): Promise<void> {
    const pending = this.loading.get(name);
    if (pending) return pending;
    this.node(name);
    const work = listContainers(this.services.core(), name)
      .then((containers) => this.show(name, { status: 'ok', containers }))
      .catch((error: unknown) => {
        this.services.log.error(`host ${name}: ${describeForLog(error)}`);
        this.show(name, { status: 'error', message: errorSentence(error) });
      })
      .finally(() => this.loading.delete(name));
    this.loading.set(name, work);
    return work;
  }

  getTreeItem(node: HostsTreeNode): vscode.TreeItem {
    switch (node.kind) {
      case 'host': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `host:${node.name}`;
        item.contextValue = node.state.status === 'error' ? contextValues.hostError : contextValues.hostOk;
        if (node.state.status === 'error') {
          item.description = node.state.message;
          item.tooltip = node.state.message;
          item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        } else if (node.state.status === 'loading') {
          item.description = 'connecting…';
          item.iconPath = new vscode.ThemeIcon('loading~spin');
        } else {
          item.description = `${node.state.containers.length} containers`;
          item.iconPath = new vscode.ThemeIcon('server');
        }
        return item;
      }
      case 'container': {
        const info = node.info;
        const item = new vscode.TreeItem(info.name, info.state === 'running' ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.id = `container:${info.host}/${info.id}`;
        item.contextValue = containerContext(info);
        const uptime = info.state === 'running' && info.startedAt ? `up since ${formatSince(new Date(info.startedAt * 1000))}` : info.state;
        item.description = [info.image.replace(/^localhost\//, ''), uptime, info.checkpointed ? 'checkpointed' : '', info.copyOf ? `copy of ${info.copyOf}` : ''].filter(Boolean).join(' · ');
        item.tooltip = new vscode.MarkdownString(`**${info.name}** on ${info.host}\n\nimage: ${info.image}\n\nstate: ${info.state}${info.checkpointed ? ' (holds a checkpoint: Restore in Place)' : ''}${info.copyOf ? `\n\nrestored from snapshot ${info.copyOf}` : ''}`);
        item.iconPath = info.state === 'running'
          ? new vscode.ThemeIcon(info.copyOf ? 'debug-alt' : 'vm-running', new vscode.ThemeColor('testing.iconPassed'))
          : new vscode.ThemeIcon(info.checkpointed ? 'record' : 'vm-outline');
        return item;
      }
      case 'process': {
        const item = new vscode.TreeItem(node.process.command, vscode.TreeItemCollapsibleState.None);
        item.contextValue = contextValues.process;
        item.description = `pid ${node.process.pid} · ${node.process.user}`;
        item.iconPath = new vscode.ThemeIcon('symbol-event');
        return item;
      }
      case 'message':
        return Object.assign(new vscode.TreeItem(node.text), { contextValue: contextValues.message });
    }
  }

  async getChildren(node?: HostsTreeNode): Promise<HostsTreeNode[]> {
    if (!node) {
      return this.services.hostNames().map((name) => {
        if (!this.nodes.has(name)) void this.load(name);
        return this.node(name);
      });
    }
    if (node.kind === 'host') {
      if (node.state.status !== 'ok') return [];
      return node.state.containers.length === 0 ? [new MessageNode('no containers')] : node.state.containers.map((c) => new ContainerNode(c));
    }
    if (node.kind === 'container') {
      try {
        const top = await containerProcesses(this.services.core(), node.info.host, node.info.id.slice(0, 12));
        return top.map((p) => new ProcessNode(node.info.host, node.info.name, p));
      } catch (error) {
        return [new MessageNode(errorSentence(error))];
      }
    }
    return [];
  }
}
