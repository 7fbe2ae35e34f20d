// Host to host relabels only the archive's head: where config.dump and spec.dump end in it, and
// nothing when the head does not hold them whole.
import { strict as assert } from 'node:assert';
import { encodeHeader } from '../../../src/core/archive/tarFormat';
import { headEnd } from '../../../src/core/snapshot/hostToHost';

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
