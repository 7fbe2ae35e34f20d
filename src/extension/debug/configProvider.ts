// launch.json support: `"type": "snapdebug", "request": "attach"` with host and container reruns
// Snapshot & Debug. Resolving it runs the whole workflow, then starts the runtime's own debug
// session; the snapdebug configuration itself never launches anything.
import * as vscode from 'vscode';
import type { Runtime } from '../../core';
import { runSnapshotAndDebug } from '../commands/snapshotAndDebug';
import type { Services } from '../services';

export class SnapdebugConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly services: Services) {}

  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    const settings = this.services.settings();
    const host = this.services.hostNames()[0] ?? 'prod';
    return [{ type: 'snapdebug', request: 'attach', name: 'Snapshot & Debug', host, container: 'CONTAINER', ...(settings.defaultDebugHost && { debugHost: settings.defaultDebugHost }), runtime: 'auto', remoteRoot: settings.debug.remoteRoot }];
  }

  async resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    if (!config.type && !config.request) return undefined; // F5 without launch.json: nothing to guess
    if (typeof config.host !== 'string' || typeof config.container !== 'string') {
      void vscode.window.showErrorMessage('A snapdebug configuration needs "host" and "container".');
      return undefined;
    }
    const runtime = typeof config.runtime === 'string' && config.runtime !== 'auto' ? (config.runtime as Runtime) : undefined;
    await runSnapshotAndDebug(this.services, {
      host: config.host,
      container: config.container,
      ...(typeof config.debugHost === 'string' && { debugHost: config.debugHost }),
      ...(runtime && { runtime }),
      ...(typeof config.localRoot === 'string' && { localRoot: config.localRoot }),
      ...(typeof config.remoteRoot === 'string' && { remoteRoot: config.remoteRoot }),
    });
    // The runtime's own session was started above; returning undefined launches nothing more.
    return undefined;
  }
}
