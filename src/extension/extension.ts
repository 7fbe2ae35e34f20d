// Activation: builds the services object (the extension's only state), the three views, the
// commands and the debug configuration provider; every disposable goes to context.subscriptions.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { SnapdebugConfigurationProvider } from './debug/configProvider';
import { readOnlyScheme } from './documents';
import { createLog } from './log';
import { reviewStore } from './retention';
import { CoreHolder, createServices, type Services } from './services';
import { readSettings } from './settings';

export function activate(context: vscode.ExtensionContext): Services {
  const log = createLog();
  const core = new CoreHolder(context, log);
  context.subscriptions.push(log.channel, core);
  const services = createServices({ context, log, core: () => core.get() });
  const { hosts, snapshots, copies } = services.views;

  const hostsView = vscode.window.createTreeView('snapdebug.hosts', { treeDataProvider: hosts, showCollapseAll: true });
  const snapshotsView = vscode.window.createTreeView('snapdebug.snapshots', { treeDataProvider: snapshots });
  const copiesView = vscode.window.createTreeView('snapdebug.copies', { treeDataProvider: copies });
  context.subscriptions.push(
    hostsView,
    snapshotsView,
    copiesView,
    ...registerCommands(services),
    vscode.workspace.registerTextDocumentContentProvider(readOnlyScheme, services.documents),
    vscode.debug.registerDebugConfigurationProvider('snapdebug', new SnapdebugConfigurationProvider(services)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('snapdebug')) return;
      core.resetIfChanged(); // new SSH config, store or sudo settings: new connections
      services.views.hosts.startOver();
      services.refreshAll();
      scheduleRefresh();
    }),
  );

  // Periodic refresh, only while one of our views is visible.
  let timer: NodeJS.Timeout | undefined;
  const scheduleRefresh = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    const seconds = readSettings().refreshIntervalSeconds;
    const visible = hostsView.visible || copiesView.visible;
    if (seconds > 0 && visible) timer = setInterval(() => services.refreshAll(), seconds * 1000);
  };
  context.subscriptions.push(
    hostsView.onDidChangeVisibility(scheduleRefresh),
    copiesView.onDidChangeVisibility(scheduleRefresh),
    { dispose: () => timer && clearInterval(timer) },
  );
  scheduleRefresh();
  void vscode.commands.executeCommand('setContext', 'snapdebug.noHosts', services.hostNames().length === 0);
  log.info('Snapshot Debugger activated');
  void reviewStore(services).catch((error: unknown) => log.error(`reviewing the snapshot store: ${(error as Error).message}`));
  return services;
}

export function deactivate(): void {
  // Everything is in context.subscriptions: VS Code disposes it (SSH connections, tunnels, timers).
}
