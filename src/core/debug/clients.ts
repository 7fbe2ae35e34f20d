// How a person reaches an attach point without an IDE extension: the terminal client of each
// runtime's debugger, pointed at the tunnel's local port.
import type { Runtime } from './attach';

export function terminalClient(runtime: Runtime, attach: { address: string; port: number }): string | undefined {
  const where = `${attach.address}:${attach.port}`;
  switch (runtime) {
    case 'go':
      return `dlv connect ${where}`;
    case 'java':
      return `jdb -attach ${where}`;
    case 'node':
      return `node inspect ${where}`;
    case 'python':
    case 'native':
      return undefined;
  }
}
