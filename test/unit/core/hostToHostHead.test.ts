// Host to host relabels only the archive's head: where config.dump and spec.dump end in it, and
// nothing when the head does not hold them whole. The store's copy comes afterwards, in the
// background, and a face follows it when it can.
import { strict as assert } from 'node:assert';
import { encodeHeader } from '../../../src/core/archive/tarFormat';
import { headEnd } from '../../../src/core/snapshot/hostToHost';
import { storeInBackground } from '../../../src/core/snapshot/storeAfterward';
import type { SnapshotMeta } from '../../../src/core/snapshot/store';

function entry(name: string, size: number): Buffer {
  const header = encodeHeader({ name, size, mode: 0o600, mtime: 0, uid: 0, gid: 0, flag: '0' });
  return Buffer.concat([header, Buffer.alloc(Math.ceil(size / 512) * 512, 1)]);
}

describe('host to host: the archive head', () => {
  const archive = Buffer.concat([entry('devshm-checkpoint.tar', 1536), entry('config.dump', 700), entry('spec.dump', 1300), entry('checkpoint/pages-1.img', 8192)]);

  it('ends after the last of the dumps, padding included', () => {
    assert.equal(headEnd(archive, ['config.dump', 'spec.dump']), 512 + 1536 + 512 + 1024 + 512 + 1536);
  });

  it('is undefined when the head cuts a dump short, or a dump is missing', () => {
    assert.equal(headEnd(archive.subarray(0, 3000), ['config.dump', 'spec.dump']), undefined);
    assert.equal(headEnd(archive, ['config.dump', 'volumes.dump']), undefined);
  });
});

describe('host to host: the store afterwards', () => {
  const meta = { id: 'api-1', sha256: 'ab', size: 10 } as SnapshotMeta;

  it('runs at once; whoever follows it later sees where it is, then its progress and its end', async () => {
    let report: ((bytes: number) => void) | undefined;
    let finish: (() => void) | undefined;
    const background = storeInBackground('api-1', (control) => {
      report = (bytes) => control!.progress!({ phase: 'pull', message: 'Storing', bytes, total: 10 });
      return new Promise((resolve) => (finish = () => resolve(meta)));
    }, () => undefined);
    assert.ok(report, 'started before anyone follows it');
    report!(2); // nobody shows this one
    report!(3); // the follower is shown this one when it starts following
    const seen: number[] = [];
    const followed = background.follow({ progress: (e) => seen.push(e.bytes!) });
    report!(7);
    report!(10);
    finish!();
    assert.equal(await followed, meta);
    assert.deepEqual(seen, [3, 7, 10]);
  });

  it("cancels with the follower's signal, and says so in the log when it fails", async () => {
    const lines: string[] = [];
    let aborted = false;
    const background = storeInBackground('api-1', (control) => new Promise((_, reject) => control!.signal!.addEventListener('abort', () => ((aborted = true), reject(new Error('cancelled'))))), (l) => lines.push(l));
    const controller = new AbortController();
    const followed = background.follow({ signal: controller.signal });
    controller.abort();
    await assert.rejects(followed, /cancelled/);
    assert.ok(aborted);
    assert.deepEqual(lines, ['The store did not receive api-1: cancelled']);
  });
});
