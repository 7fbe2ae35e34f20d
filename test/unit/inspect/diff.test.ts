// diffSnapshots: a process that appeared (with its files), one that went, changed arguments, files
// and sockets opened and closed, memory grown; unchanged processes are left out; a PID reused by
// another program counts as one gone and one new.
import { strict as assert } from 'node:assert';
import { diffSnapshots } from '../../../src/core/inspect/diff';
import type { ProcessInfo, SnapshotContents } from '../../../src/core/inspect/model';

function process(pid: number, command: string, extra: Partial<ProcessInfo> = {}): ProcessInfo {
  return {
    pid, ppid: pid === 1 ? 0 : 1, command, args: [command], cwd: '/', exe: `/usr/bin/${command}`, threads: [pid], state: 'alive',
    files: [{ fd: '0', type: 'REG', path: '/dev/null' }, { fd: 'cwd', type: 'REG', path: '/' }], sockets: [], envNames: [], residentBytes: 4096, mappedBytes: 8192,
    ...extra,
  };
}

const snapshot = (...processes: ProcessInfo[]): SnapshotContents => ({ container: {}, processes, mounts: [], stats: { archiveBytes: 0, memoryBytes: 0 } });

describe('diffSnapshots', () => {
  it('shows exactly what changed', () => {
    const listen = { fd: 3, family: 'IPv4', protocol: 'TCP', state: 'LISTEN', source: '0.0.0.0', sourcePort: 8080, destination: '0.0.0.0', destinationPort: 0, inode: 5 };
    const before = snapshot(process(1, 'node'), process(6, 'sleep'), process(7, 'worker', { args: ['worker', '--slow'] }), process(9, 'cron'));
    const after = snapshot(
      process(1, 'node', { files: [{ fd: '0', type: 'REG', path: '/dev/null' }, { fd: '4', type: 'REG', path: '/tmp/log' }, { fd: 'cwd', type: 'REG', path: '/app' }], sockets: [listen], residentBytes: 3 * 4096 }),
      process(7, 'worker', { args: ['worker', '--fast'] }),
      process(9, 'cron'),
      process(12, 'sleep', { files: [{ fd: '1', type: 'REG', path: '/tmp/child.out' }] }),
      process(6, 'python3'),
    );
    const diff = diffSnapshots(before, after);
    assert.deepEqual(diff.processesAdded.map((p) => [p.pid, p.command]), [[12, 'sleep'], [6, 'python3']]);
    assert.deepEqual(diff.processesAdded[0]!.files, [{ fd: '1', type: 'REG', path: '/tmp/child.out' }]);
    assert.deepEqual(diff.processesGone.map((p) => [p.pid, p.command]), [[6, 'sleep']]);
    assert.deepEqual(diff.changed, [
      {
        pid: 1, command: 'node',
        filesOpened: [{ fd: '4', type: 'REG', path: '/tmp/log' }], filesClosed: [],
        socketsOpened: [listen], socketsClosed: [],
        memory: { beforeBytes: 4096, afterBytes: 12288, changeBytes: 8192 },
      },
      { pid: 7, command: 'worker', filesOpened: [], filesClosed: [], socketsOpened: [], socketsClosed: [], args: { before: ['worker', '--slow'], after: ['worker', '--fast'] } },
    ]);
  });

  it('finds nothing between a snapshot and itself', () => {
    const s = snapshot(process(1, 'node'), process(6, 'sleep'));
    assert.deepEqual(diffSnapshots(s, s), { processesAdded: [], processesGone: [], changed: [] });
  });
});
