// From an attach point to a debug session in VS Code: js-debug's `node` attach for Node.js (with
// localRoot/remoteRoot so breakpoints in local sources bind), and when their extensions are
// installed debugpy's attach for Python, the Go extension's remote DAP attach to Delve, the Java
// debugger's attach to JDWP; gdb in a terminal over SSH for native code. Without the extension a
// runtime needs, the port and the terminal command are shown instead. The tunnel stays open until
// that session ends: DebugTunnels (one, in the services object) keeps the open ones.
import * as vscode from 'vscode';
import { shellJoin, terminalClient, type Runtime } from '../../core';
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

/** The extension each runtime's VS Code debug type comes from (node's js-debug is built in). */
const debuggerExtensions: Partial<Record<Runtime, { id: string; name: string; server: string }>> = {
  python: { id: 'ms-python.debugpy', name: 'Python Debugger', server: 'debugpy' },
  go: { id: 'golang.go', name: 'Go', server: 'Delve' },
  java: { id: 'vscjava.vscode-java-debug', name: 'Debugger for Java', server: 'The JVM\'s JDWP agent' },
};

/** The attach configuration of the runtime's own debug type, for a point reached through the tunnel. */
export function attachConfiguration(
  runtime: Exclude<Runtime, 'node' | 'native'>,
  attach: { address: string; port: number },
  root: string | undefined,
  remoteRoot: string,
): vscode.DebugConfiguration {
  switch (runtime) {
    case 'python':
      return {
        type: 'debugpy',
        request: 'attach',
        name: 'python',
        connect: { host: attach.address, port: attach.port },
        ...(root && { pathMappings: [{ localRoot: root, remoteRoot }] }),
        justMyCode: false,
      };
    case 'go':
      // Delve runs headless in the copy (dlv attach --headless): the Go extension's remote mode
      // speaks DAP to it; substitutePath maps local sources to the paths the binary was built at.
      return {
        type: 'go',
        request: 'attach',
        name: 'go',
        mode: 'remote',
        host: attach.address,
        port: attach.port,
        ...(root && { substitutePath: [{ from: root, to: remoteRoot }] }),
      };
    case 'java':
      return { type: 'java', request: 'attach', name: 'java', hostName: attach.address, port: attach.port, ...(root && { sourcePaths: [root] }) };
  }
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
  const needed = point.runtime === 'node' ? undefined : debuggerExtensions[point.runtime];
  if (needed && !vscode.extensions.getExtension(needed.id)) {
    services.tunnels.hold(point);
    const client = terminalClient(point.runtime, point.attach);
    void vscode.window.showWarningMessage(
      `${needed.server} listens in ${name}, tunnelled to ${point.attach.address}:${point.attach.port}.${client ? ` Connect with \`${client}\`, or install` : ' Install'} the ${needed.name} extension (${needed.id}) to attach from VS Code.`,
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
      : { ...attachConfiguration(point.runtime, point.attach, root, remoteRoot), name, __snapdebugTunnel: key };
  const started = await vscode.debug.startDebugging(folder, configuration);
  if (!started) await services.tunnels.close(key);
  return started;
}
