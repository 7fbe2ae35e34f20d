// Moving archives, verified: striped blocks for parallel pulls, and writing a stream into the store.
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Host } from '../../../src/core/host';
import { LocalRunner } from '../../../src/core/ssh/runner';
import { pullFile, stripeBlocks } from '../../../src/core/snapshot/pull';
import { receiveToFile } from '../../../src/core/snapshot/transfer';
import { isAbortError } from '../../../src/core/util/abort';
import { makeTempDir, seededRandom } from '../helpers';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('stripeBlocks', () => {
  function checkCover(size: number, channels: number, blockBytes: number): void {
    const plan = stripeBlocks(size, channels, blockBytes);
    const where = `size ${size}, ${channels} channels, ${blockBytes} B blocks`;
    assert.ok(plan.length >= 1 && plan.length <= Math.max(1, channels), `${where}: ${plan.length} channels used`);
    const blocks = plan.flatMap((blocks, channel) => blocks.map((block) => ({ ...block, channel })));
    blocks.sort((a, b) => a.start - b.start);
    let next = 0;
    blocks.forEach((block, index) => {
      assert.equal(block.start, next, `${where}: blocks are contiguous`);
      assert.equal(block.channel, index % plan.length, `${where}: blocks are dealt in turn`);
      assert.ok(block.length > 0 && block.length <= blockBytes, `${where}: block ${index} is ${block.length} B`);
      next += block.length;
    });
    assert.equal(next, size, `${where}: blocks cover the file exactly`);
  }

  it('gives an empty file one channel with no blocks', () => {
    assert.deepEqual(stripeBlocks(0, 4, MiB), [[]]);
  });

  it('deals blocks to the channels in turn, the last one short', () => {
    assert.deepEqual(stripeBlocks(5 * MiB + 3, 2, 2 * MiB), [
      [
        { start: 0, length: 2 * MiB },
        { start: 4 * MiB, length: MiB + 3 },
      ],
      [{ start: 2 * MiB, length: 2 * MiB }],
    ]);
  });

  it('uses no more channels than there are blocks', () => {
    assert.deepEqual(stripeBlocks(MiB + 1, 8, MiB), [[{ start: 0, length: MiB }], [{ start: MiB, length: 1 }]]);
  });

  it('always covers the file exactly, block by block in turn', () => {
    const random = seededRandom(99);
    const sizes = [1, MiB - 1, MiB, MiB + 1, 2 * MiB + 1, 9 * MiB + 1, 1024 * MiB + 7];
    for (let i = 0; i < 100; i++) sizes.push(Math.floor(random() * 256 * MiB) + 1);
    for (const size of sizes) for (const channels of [1, 2, 3, 8]) for (const block of [MiB, 32 * MiB]) checkCover(size, channels, block);
  });
});

describe('receiveToFile', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    temp = makeTempDir('receive');
  });
  afterEach(() => temp.cleanup());

  /** A few turns of the event loop: whatever a stream still had to do (close, unlink) is done. */
  const settle = async () => {
    for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
  };

  /** A source that yields each chunk a turn of the event loop after the last, so a cancel lands in between. */
  function slowSource(chunks: Buffer[]): Readable {
    return Readable.from(
      (async function* () {
        for (const chunk of chunks) {
          await new Promise((resolve) => setImmediate(resolve));
          yield chunk;
        }
      })(),
    );
  }

  it('writes a new 0600 file and returns its size and sha256, reporting running totals', async () => {
    const chunks = Array.from({ length: 20 }, (_, i) => randomBytes(1000 + i * 997));
    const all = Buffer.concat(chunks);
    const dest = join(temp.dir, 'snap.part');
    const totals: number[] = [];
    const received = await receiveToFile(Readable.from(chunks), dest, { onChunk: (_chunk, total) => totals.push(total) });
    assert.deepEqual(received, { bytes: all.length, sha256: sha256(all) });
    assert.ok(readFileSync(dest).equals(all));
    assert.equal(statSync(dest).mode & 0o777, 0o600);
    assert.equal(totals.at(-1), all.length);
    assert.ok(totals.every((t, i) => i === 0 || t > totals[i - 1]!), 'totals only grow');
  });

  it('removes the partial file and reports a cancel as AbortError', async () => {
    const dest = join(temp.dir, 'cancelled.part');
    const controller = new AbortController();
    const chunks = Array.from({ length: 50 }, () => randomBytes(4096));
    let seen = 0;
    await assert.rejects(
      receiveToFile(slowSource(chunks), dest, {
        signal: controller.signal,
        onChunk: () => {
          if (++seen === 3) controller.abort();
        },
      }),
      (e: unknown) => isAbortError(e),
    );
    assert.ok(seen < 50, 'the transfer stopped early');
    assert.equal(existsSync(dest), false, 'the partial file was removed before the cancel was reported');
    await settle();
    assert.equal(existsSync(dest), false, 'and nothing wrote it again afterwards');
  });

  it('removes the partial file and passes on a source failure', async () => {
    const dest = join(temp.dir, 'failed.part');
    const broken = Readable.from(
      (async function* () {
        for (let i = 0; i < 3; i++) {
          await new Promise((resolve) => setImmediate(resolve));
          yield randomBytes(5000);
        }
        throw new Error('connection lost');
      })(),
    );
    await assert.rejects(receiveToFile(broken, dest, {}), /connection lost/);
    assert.equal(existsSync(dest), false);
    await settle();
    assert.equal(existsSync(dest), false);
  });

  it('leaves no file behind when it fails or is cancelled before the file is even open', async () => {
    // The file is opened asynchronously: a cleanup that runs before the open completes must not
    // let the open create the file afterwards. Repeated, because the race is a matter of timing.
    for (let i = 0; i < 20; i++) {
      const failing = Readable.from(
        (async function* () {
          yield* [];
          throw new Error('connection lost');
        })(),
      );
      await assert.rejects(receiveToFile(failing, join(temp.dir, `failed-${i}.part`), {}), /connection lost/);
      await assert.rejects(receiveToFile(slowSource([randomBytes(10)]), join(temp.dir, `cancelled-${i}.part`), { signal: AbortSignal.abort() }), (e: unknown) =>
        isAbortError(e),
      );
    }
    await settle();
    assert.deepEqual(readdirSync(temp.dir), []);
  });

  it('refuses to overwrite an existing file, and leaves that file alone', async () => {
    const dest = join(temp.dir, 'existing');
    writeFileSync(dest, 'precious');
    await assert.rejects(receiveToFile(Readable.from([Buffer.from('new')]), dest, {}), /EEXIST/);
    assert.equal(existsSync(dest) ? readFileSync(dest, 'utf8') : '(deleted)', 'precious');
  });
});

describe('pullFile (through a local runner)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  const local = (name: string) => new Host(name, new LocalRunner());
  beforeEach(() => {
    temp = makeTempDir('pull');
  });
  afterEach(() => temp.cleanup());

  it('pulls a file smaller than one block into a verified 0600 copy', async function () {
    this.timeout(30_000);
    const data = randomBytes(5 * MiB + 12345);
    const source = join(temp.dir, 'remote.tar.zst');
    writeFileSync(source, data);
    const dest = join(temp.dir, 'local.part');
    let last = 0;
    const received = await pullFile([local('lane-1'), local('lane-2'), local('lane-3')], source, dest, { onProgress: (total) => (last = total) });
    assert.deepEqual(received, { bytes: data.length, sha256: sha256(data) });
    assert.ok(readFileSync(dest).equals(data));
    assert.equal(statSync(dest).mode & 0o777, 0o600);
    assert.equal(last, data.length);
  });

  it('stripes many blocks over the channels of several lanes and reassembles them in place', async function () {
    this.timeout(30_000);
    const data = randomBytes(11 * MiB + 777);
    const source = join(temp.dir, 'striped');
    writeFileSync(source, data);
    const dest = join(temp.dir, 'striped.part');
    const received = await pullFile([local('lane-1'), local('lane-2')], source, dest, { blockBytes: MiB, rangesPerLane: 3 });
    assert.deepEqual(received, { bytes: data.length, sha256: sha256(data) });
    assert.ok(readFileSync(dest).equals(data));
  });

  it('refuses blocks that are not whole MiB, before touching anything', async () => {
    const source = join(temp.dir, 'small');
    writeFileSync(source, 'x');
    const dest = join(temp.dir, 'small.part');
    await assert.rejects(pullFile([local('a')], source, dest, { blockBytes: MiB + 1 }), /whole MiB/);
    assert.equal(existsSync(dest), false);
  });

  it('pulls an empty file', async () => {
    const source = join(temp.dir, 'empty');
    writeFileSync(source, '');
    const dest = join(temp.dir, 'empty.part');
    assert.deepEqual(await pullFile([local('a'), local('b')], source, dest, {}), { bytes: 0, sha256: sha256(Buffer.alloc(0)) });
  });

  it('fails clearly for a missing file and leaves nothing behind', async () => {
    const dest = join(temp.dir, 'missing.part');
    await assert.rejects(pullFile([local('prod')], join(temp.dir, 'no-such-file'), dest, {}), /Cannot read .*no-such-file on prod/);
    assert.equal(existsSync(dest), false);
  });

  it("in the background, the host's reading and hashing take its lowest CPU and I/O priority; in the foreground, their own", async function () {
    this.timeout(30_000);
    // Stand-ins for the host's dd and sha256sum: they note their priorities, then run the real program.
    const bin = join(temp.dir, 'bin');
    mkdirSync(bin);
    const log = join(temp.dir, 'priorities');
    for (const program of ['dd', 'sha256sum']) {
      const real = execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
      writeFileSync(join(bin, program), `#!/bin/sh\necho "${program} $(ps -o ni= -p $$ | tr -d ' ') $(ionice -p $$)" >> ${log}\nexec ${real} "$@"\n`, { mode: 0o755 });
    }
    const source = join(temp.dir, 'archive');
    writeFileSync(source, randomBytes(3 * MiB));
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    const own = execFileSync('sh', ['-c', 'echo "$(ps -o ni= -p $$ | tr -d \' \') $(ionice -p $$)"'], { encoding: 'utf8' }).trim();
    try {
      await pullFile([local('a'), local('b')], source, join(temp.dir, 'background.part'), { blockBytes: MiB, background: true });
      const background = readFileSync(log, 'utf8').trim().split('\n');
      writeFileSync(log, '');
      await pullFile([local('a'), local('b')], source, join(temp.dir, 'foreground.part'), { blockBytes: MiB });
      const foreground = readFileSync(log, 'utf8').trim().split('\n');
      assert.ok(background.some((l) => l.startsWith('dd ')) && background.some((l) => l.startsWith('sha256sum ')), background.join(' | '));
      for (const line of background) assert.match(line, /^(dd|sha256sum) 19 best-effort: prio 7$/);
      for (const line of foreground) assert.equal(line.replace(/^\S+ /, ''), own);
    } finally {
      process.env.PATH = path;
    }
  });

  it('removes the partial file when cancelled', async function () {
    this.timeout(30_000);
    const source = join(temp.dir, 'big');
    writeFileSync(source, randomBytes(16 * MiB));
    const dest = join(temp.dir, 'big.part');
    const controller = new AbortController();
    await assert.rejects(
      pullFile([local('a'), local('b')], source, dest, { signal: controller.signal, onProgress: () => controller.abort() }),
      (e: unknown) => isAbortError(e),
    );
    assert.equal(existsSync(dest), false);
  });
});
