// Host to host, a copy's own volumes are reached through links the relabelled head carries
// (archive/volumeLinks.ts): volumes/NEW.tar → OLD.tar, ahead of podman's volume entries at the
// archive's end. Checked with GNU tar, an independent reader: the links list as links, and an
// archive of the head, then the original's entries, extracts NEW.tar with OLD.tar's content.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeHeader } from '../../../src/core/archive/tarFormat';
import { volumeLinkEntries } from '../../../src/core/archive/volumeLinks';
import { makeTempDir } from '../helpers';

function file(name: string, body: string): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([encodeHeader({ name, size: bytes.length, mode: 0o600, mtime: 0, uid: 0, gid: 0, flag: '0' }), bytes, Buffer.alloc((512 - (bytes.length % 512)) % 512)]);
}
const dir = (name: string) => encodeHeader({ name, size: 0, mode: 0o700, mtime: 0, uid: 0, gid: 0, flag: '5' });
const end = Buffer.alloc(1024);

describe('host to host: links to the copy\'s own volumes', () => {
  const volumes = { data: 'api-snap-1-data', ['l'.repeat(110)]: 'api-snap-1-long' };

  it('are symbolic links volumes/NEW.tar → OLD.tar, a long target in a pax record', () => {
    const listing = execFileSync('tar', ['-tvf', '-'], { input: Buffer.concat([volumeLinkEntries(volumes, 0), end]), encoding: 'utf8' });
    assert.match(listing, /^l.* volumes\/api-snap-1-data\.tar -> data\.tar$/m);
    assert.match(listing, new RegExp(`^l.* volumes/api-snap-1-long\\.tar -> ${'l'.repeat(110)}\\.tar$`, 'm'));
  });

  it("made before the original's entries arrive, they lead to what those entries hold", () => {
    const { dir: out, cleanup } = makeTempDir('volume-links');
    try {
      const archive = Buffer.concat([file('config.dump', '{}'), volumeLinkEntries({ data: 'api-snap-1-data' }, 0), file('checkpoint/pages-1.img', 'memory'), dir('volumes/'), file('volumes/data.tar', 'volume bytes'), end]);
      execFileSync('tar', ['-xf', '-', '-C', out], { input: archive });
      assert.equal(readFileSync(join(out, 'volumes', 'api-snap-1-data.tar'), 'utf8'), 'volume bytes');
    } finally {
      cleanup();
    }
  });

  it("refuses a copy's volume named as one of the original's (its entry would replace the link)", () => {
    assert.throws(() => volumeLinkEntries({ a: 'b', b: 'c' }, 0), /volume b has the name of one of the original's/);
  });
});
