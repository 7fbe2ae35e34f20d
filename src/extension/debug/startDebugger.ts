// From an attach point to a debug session in VS Code: js-debug's `node` attach for Node.js (with
// localRoot/remoteRoot so breakpoints in local sources bind), debugpy's attach for Python when the
// Python debugger is installed, and gdb in a terminal over SSH for native code. The tunnel stays
// open until that session ends: DebugTunnels (one, in the services object) keeps the open ones.
import * as vscode from 'vscode';
import { shellJoin, type Runtime } from '../../core';
import type { Services } from '../services';

export interface AttachPoint {
  host: string;
  copy: string;
  runtime: Runtime;
  attach?: { address: string; port: number };
  gdb?: string[];
  close(): Promise<void>;
  /** Overrides from a launch.json configuration. */
  localRoot?: string;
  remoteRoot?: string;
}

/** The tunnels of debug sessions, each closed when its session ends (or the extension stops). */
export class DebugTunnels implements vscode.Disposable {
  private readonly open = new Map<string, AttachPoint>();
  private sequence = 0;
  private readonly subscription: vscode.Disposable;

  constructor() {
    this.subscription = vscode.debug.onDidTerminateDebugSession((session) => {
      const key = session.configuration.__snapdebugTunnel as string | undefined;
      if (key) void this.close(key);
    });
  }

  /** Keeps a tunnel under a new key, which its debug configuration carries. */
  hold(point: AttachPoint): string {
    const key = `snapdebug-${++this.sequence}`;
    this.open.set(key, point);
    return key;
  }

  async close(key: string): Promise<void> {
    const point = this.open.get(key);
    this.open.delete(key);
    await point?.close();
  }

  get size(): number {
    return this.open.size;
  }

  dispose(): void {
    this.subscription.dispose();
    for (const point of this.open.values()) void point.close();
    this.open.clear();
  }
}

function localRoot(services: Services, point: AttachPoint): string | undefined {
  return point.localRoot ?? services.settings().debug.localRoot ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

export async function startDebugger(services: Services, point: AttachPoint): Promise<boolean> {
  const name = `${point.copy} on ${point.host}`;
  const folder = vscode.workspace.workspaceFolders?.[0];
  const remoteRoot = point.remoteRoot ?? services.settings().debug.remoteRoot;
  if (point.runtime === 'native') {
    const config = services.settings().sshConfigFile;
    const terminal = vscode.window.createTerminal({ name: `gdb ${name}` });
    terminal.show();
    terminal.sendText(shellJoin(['ssh', '-t', ...(config ? ['-F', config] : []), point.host, shellJoin(point.gdb ?? [])]));
    services.log.info(`gdb attached to ${name} in a terminal`);
    return true;
  }
  if (!point.attach) return false;
  const root = localRoot(services, point);
  if (point.runtime === 'python' && !vscode.extensions.getExtension('ms-python.debugpy')) {
    services.tunnels.hold(point);
    void vscode.window.showWarningMessage(
      `debugpy listens in ${name}, tunnelled to ${point.attach.address}:${point.attach.port}. Install the Python Debugger extension (ms-python.debugpy) to attach from VS Code.`,
    );
    return false;
  }
  const key = services.tunnels.hold(point);
  const configuration: vscode.DebugConfiguration =
    point.runtime === 'node'
      ? {
          type: 'node',
          request: 'attach',
          name,
          address: point.attach.address,
          port: point.attach.port,
          ...(root && { localRoot: root, remoteRoot }),
          skipFiles: ['<node_internals>/**'],
          __snapdebugTunnel: key,
        }
      : {
          type: 'debugpy',
          request: 'attach',
          name,
          connect: { host: point.attach.address, port: point.attach.port },
          ...(root && { pathMappings: [{ localRoot: root, remoteRoot }] }),
          justMyCode: false,
          __snapdebugTunnel: key,
        };
  const started = await vscode.debug.startDebugging(folder, configuration);
  if (!started) await services.tunnels.close(key);
  return started;
}
