// The walk over zstd frames ahead of fzstd: podman's 8 MiB windows pass, a frame asking for more
// than 32 MiB is refused from its header alone (single-segment frames by their content size), and
// the pieces it cuts a stream into end on block boundaries and add up to the stream.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Decompress } from 'fzstd';
import { ZstdFrameCheck } from '../../../src/core/archive/zstdFrames';
import { fixedChunks, fixture } from '../helpers';
import { zstdFrame, zstdWindowBomb } from './tarBuild';

function walk(stream: Buffer, pieceSize = stream.length): ZstdFrameCheck {
  const check = new ZstdFrameCheck();
  for (const piece of fixedChunks(stream, pieceSize)) check.push(piece);
  return check;
}

describe('zstd frames', () => {
  it('walks podman\'s archives (8 MiB windows) to a frame boundary, in any chunking', () => {
    const archive = readFileSync(fixture('demo-api-layout.tar.zst'));
    assert.equal(walk(archive).atFrameBoundary, true);
    assert.equal(walk(archive, 3).atFrameBoundary, true);
    assert.equal(walk(archive.subarray(0, archive.length - 100)).atFrameBoundary, false, 'a stream cut short is not at a boundary');
  });

  it('walks frames made by the zstd program: several in a row, with checksums, and skippable frames', () => {
    const one = execFileSync('zstd', ['-q', '-c', '--check'], { input: randomBytes(300_000) });
    const two = execFileSync('zstd', ['-q', '-c', '-19'], { input: Buffer.alloc(1_000_000, 9) });
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), Buffer.from('hello')]);
    assert.equal(walk(Buffer.concat([one, skippable, two]), 1000).atFrameBoundary, true);
  });

  it('refuses a window larger than 32 MiB, from the frame header', () => {
    const big = zstdFrame([Buffer.from('x')], 26); // 64 MiB
    assert.throws(() => walk(big), /^SnapdebugError: The archive's zstd stream asks for a 64 MiB window, more than the 32 MiB any podman archive needs: refused\.$/);
    assert.doesNotThrow(() => walk(zstdFrame([Buffer.from('x')], 25)));
  });

  it('refuses a single-segment frame by its declared content size', () => {
    assert.throws(() => walk(zstdWindowBomb(1.5 * 1024 * 1024 * 1024), 2), /asks for a 1536 MiB window/);
  });

  it('refuses bytes that are not a zstd frame after one', () => {
    assert.throws(() => walk(Buffer.concat([zstdFrame([Buffer.from('x')]), Buffer.from('PK\u0003\u0004')])), /something other than a zstd frame follows a frame/);
  });

  it('cuts a stream into pieces that decode to about the size asked, each ending on a block boundary', () => {
    const stream = zstdFrame([Buffer.from('head'), { zeros: 8 * 1024 * 1024 }, Buffer.from('tail')]);
    const pieces = new ZstdFrameCheck().cut(stream, 1024 * 1024);
    assert.deepEqual(Buffer.concat(pieces), stream);
    assert.ok(pieces.length >= 8, `${pieces.length} pieces`);
    // fzstd fed piece by piece gives out about a megabyte per piece, never the whole 8 MiB at once.
    let largest = 0;
    let total = 0;
    const zstd = new Decompress((data) => (total += data.length));
    for (const piece of pieces) {
      const before = total;
      zstd.push(piece);
      largest = Math.max(largest, total - before);
    }
    assert.equal(total, 8 * 1024 * 1024 + 8);
    assert.ok(largest <= 1024 * 1024 + 128 * 1024, `at most ${largest} bytes came out of one piece`);
  });
});
