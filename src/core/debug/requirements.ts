// What the debug host needs, per runtime, to attach to a copy: gdb for Python (it loads debugpy)
// and native code, Delve for Go. Snapshot & Debug checks this before production is touched, and
// doctor reports it with the line that installs what is missing.
import type { Host } from '../host';
import { SnapdebugError } from '../util/errors';
import type { Runtime } from './attach';

export interface DebugTool {
  program: string;
  name: string;
  runtimes: readonly Runtime[];
  install: string;
}

export const debugTools: readonly DebugTool[] = [
  { program: 'gdb', name: 'gdb', runtimes: ['python', 'native'], install: 'apt install gdb (dnf install gdb)' },
  {
    program: 'dlv',
    name: 'Delve (dlv)',
    runtimes: ['go'],
    install: 'apt install delve (Debian 13+), or go install github.com/go-delve/delve/cmd/dlv@latest with a Go as recent as the programs\' own',
  },
];

const whichScript = 'command -v "$1" || { [ -x "/usr/bin/$1" ] && echo "/usr/bin/$1"; }';

const runtimeNames: Record<Runtime, string> = { node: 'Node.js', python: 'Python', go: 'Go', java: 'Java', native: 'native' };

export function runtimeName(runtime: Runtime): string {
  return runtimeNames[runtime];
}

/**
 * The path of a program on the host's PATH (or in /usr/bin, which sudo's secure_path has even when
 * the login's PATH does not), or undefined. Nothing runs privileged to find out.
 */
export async function whichOnHost(host: Host, program: string): Promise<string | undefined> {
  const result = await host.runIdempotent(['sh', '-c', whichScript, 'sh', program]);
  const path = result.stdout.trim();
  return result.exitCode === 0 && path !== '' ? path : undefined;
}

/** Refuses, with the install line, when the host lacks a tool that attaching to `runtime` needs. */
export async function requireDebugTools(host: Host, runtime: Runtime): Promise<void> {
  for (const tool of debugTools.filter((t) => t.runtimes.includes(runtime))) {
    if ((await whichOnHost(host, tool.program)) === undefined) {
      throw new SnapdebugError(`There is no ${tool.name} on ${host.name}, which attaching to a ${runtimeName(runtime)} copy needs.`, {
        fix: { text: `Install it on ${host.name}: ${tool.install}.` },
      });
    }
  }
}
