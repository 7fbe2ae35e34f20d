// Transfers that resume after a dropped link (issue 11, point 3), run through a real `sh` here: a
// runner that cuts its first streams part-way and counts a drop, as a dead SSH link does. A pull
// asks only for the bytes it misses; a push continues the file on the host; both verify the whole
// by sha256. A drop without a host that still holds the work fails clearly instead.
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Host } from '../../../src/core/host';
import type { RemoteWork } from '../../../src/core/remote/work';
import { pullFile } from '../../../src/core/snapshot/pull';
import { sendToHost } from '../../../src/core/snapshot/send';
import { LocalRunner, type RunOptions, type RunResult, type Runner, type StreamProcess } from '../../../src/core/ssh/runner';
import { makeTempDir } from '../helpers';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A local runner whose first `cuts` streams die after `afterBytes` bytes, each counted as a dropped link. */
class DroppingRunner implements Runner {
  readonly label = 'flaky';
  private dropped = 0;
  private readonly inner = new LocalRunner();

  constructor(
    private readonly afterBytes: number,
    private cuts: number,
  ) {}

  drops(): number {
    return this.dropped;
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return this.inner.run(argv, options);
  }

  async start(argv: readonly string[], options?: { signal?: AbortSignal }): Promise<StreamProcess> {
    const process = await this.inner.start(argv, options);
    if (this.cuts <= 0) return process;
    this.cuts--;
    let seen = 0;
    const cut = () => {
      this.dropped++;
      process.close();
    };
    if (argv[3] === 'snapdebug-receive') {
      // A push: cut the stream we send once enough has gone out.
      const stdin = new PassThrough();
      stdin.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > this.afterBytes && seen - chunk.length <= this.afterBytes) {
          process.stdin.write(chunk.subarray(0, chunk.length - (seen - this.afterBytes)), () => cut());
        } else if (seen <= this.afterBytes) process.stdin.write(chunk);
      });
      stdin.on('end', () => process.stdin.end());
      return { ...process, stdin };
    }
    process.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen >= this.afterBytes && seen - chunk.length < this.afterBytes) cut();
    });
    return process;
  }
}

/** As far as a transfer asks: a host still holding the work after a reconnect (or not). */
function workOn(host: Host, dir: string, holds: boolean): RemoteWork {
  return { host, dir, generation: 1, session: { stillHolds: async () => holds } } as unknown as RemoteWork;
}

describe('transfers resume after a dropped link', function () {
  this.timeout(30_000);
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('resume')));
  afterEach(() => temp.cleanup());

  it('a pull asks again for exactly the bytes it misses, and the whole file verifies', async () => {
    const data = randomBytes(9 * MiB + 4321);
    const source = join(temp.dir, 'archive.tar.zst');
    writeFileSync(source, data);
    const host = new Host('prod', new DroppingRunner(3 * MiB + 17, 2));
    const resumedAt: number[] = [];
    const received = await pullFile([host], source, join(temp.dir, 'snapshot.part'), {
      blockBytes: MiB,
      rangesPerLane: 2,
      work: workOn(host, temp.dir, true),
      onResume: (held) => resumedAt.push(held),
    });
    assert.deepEqual(received, { bytes: data.length, sha256: sha256(data) });
    assert.ok(readFileSync(join(temp.dir, 'snapshot.part')).equals(data));
    assert.ok(resumedAt.length >= 1 && resumedAt.every((n) => n > 0 && n < data.length), `resumed at ${resumedAt.join(', ')}`);
  });

  it('a pull whose host no longer holds the work says it cannot resume', async () => {
    const source = join(temp.dir, 'archive');
    writeFileSync(source, randomBytes(4 * MiB));
    const host = new Host('prod', new DroppingRunner(MiB / 2, 1));
    await assert.rejects(
      pullFile([host], source, join(temp.dir, 'x.part'), { blockBytes: MiB, work: workOn(host, temp.dir, false) }),
      /dropped for longer than the lease: prod removed .* cannot resume/,
    );
  });

  it('a push continues the file on the host from what arrived, and verifies the whole', async () => {
    const data = randomBytes(6 * MiB + 99);
    const host = new Host('debug', new DroppingRunner(2 * MiB + 5, 1));
    const path = join(temp.dir, 'archive.tar');
    const resumedAt: number[] = [];
    const received = await sendToHost(workOn(host, temp.dir, true), path, () => Readable.from([data.subarray(0, MiB), data.subarray(MiB)]), {
      resumable: true,
      onProgress: (_bytes, at) => at !== undefined && resumedAt.push(at),
    });
    assert.deepEqual(received, { bytes: data.length, sha256: sha256(data) });
    assert.ok(readFileSync(path).equals(data), 'the file on the host is whole');
    assert.equal(resumedAt.length, 1);
    assert.ok(resumedAt[0]! > 0 && resumedAt[0]! <= 2 * MiB + 5, `resumed at ${resumedAt[0]}`);
  });

  it('a push that cannot be produced again (a live checkpoint) fails instead of resuming', async () => {
    const host = new Host('debug', new DroppingRunner(MiB, 1));
    await assert.rejects(
      sendToHost(workOn(host, temp.dir, true), join(temp.dir, 'live.tar'), () => Readable.from([randomBytes(3 * MiB)]), { resumable: false }),
      /Writing the archive .* failed/,
    );
  });
});
