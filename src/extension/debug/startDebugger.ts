// From an attach point to a debug session in VS Code: js-debug's `node` attach for Node.js (with
// localRoot/remoteRoot so breakpoints in local sources bind), debugpy's attach for Python when the
// Python debugger is installed, and gdb in a terminal over SSH for native code. The tunnel stays
// open until that session ends.
import * as vscode from 'vscode';
import type { Runtime } from '../../core/debug/attach';
import { shellJoin } from '../../core/util/quote';
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

const open = new Map<string, AttachPoint>();
let sequence = 0;

/** Closes a tunnel when the debug session that uses it ends. Register once at activation. */
export function trackDebugSessions(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.onDidTerminateDebugSession((session) => {
      const key = session.configuration.__snapdebugTunnel as string | undefined;
      const point = key ? open.get(key) : undefined;
      if (point) {
        open.delete(key!);
        void point.close();
      }
    }),
    { dispose: () => open.forEach((p) => void p.close()) },
  );
}

function localRoot(services: Services, point: AttachPoint): string | undefined {
  return point.localRoot ?? services.settings().debug.localRoot ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

export async function startDebugger(services: Services, point: AttachPoint): Promise<boolean> {
  const key = `snapdebug-${++sequence}`;
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
  let configuration: vscode.DebugConfiguration;
  if (point.runtime === 'node') {
    configuration = {
      type: 'node',
      request: 'attach',
      name,
      address: point.attach.address,
      port: point.attach.port,
      ...(root && { localRoot: root, remoteRoot }),
      skipFiles: ['<node_internals>/**'],
      __snapdebugTunnel: key,
    };
  } else {
    if (!vscode.extensions.getExtension('ms-python.debugpy')) {
      void vscode.window.showWarningMessage(
        `debugpy listens in ${name}, tunnelled to ${point.attach.address}:${point.attach.port}. Install the Python Debugger extension (ms-python.debugpy) to attach from VS Code.`,
      );
      open.set(key, point);
      return false;
    }
    configuration = {
      type: 'debugpy',
      request: 'attach',
      name,
      connect: { host: point.attach.address, port: point.attach.port },
      ...(root && { pathMappings: [{ localRoot: root, remoteRoot }] }),
      justMyCode: false,
      __snapdebugTunnel: key,
    };
  }
  open.set(key, point);
  const started = await vscode.debug.startDebugging(folder, configuration);
  if (!started) {
    open.delete(key);
    await point.close();
  }
  return started;
}
