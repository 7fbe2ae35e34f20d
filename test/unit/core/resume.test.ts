// Transfers that resume after a dropped link (issue 11, point 3), run through a real `sh` here: a
// runner that cuts its first streams part-way and counts a drop, as a dead SSH link does. A pull
// asks only for the bytes it misses; a push continues the file on the host; both verify the whole
// by sha256. A drop without a host that still holds the work fails clearly instead. A push from
// the store hashes the stored archive again before it resumes: one replaced while the link was
// down is refused, and nothing more of it is sent.
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { createCore } from '../../../src/core/core';
import { Host } from '../../../src/core/host';
import type { RemoteWork } from '../../../src/core/remote/work';
import { pullFile } from '../../../src/core/snapshot/pull';
import { pushSnapshot } from '../../../src/core/snapshot/push';
import { sendToHost } from '../../../src/core/snapshot/send';
import type { SnapshotMeta } from '../../../src/core/snapshot/store';
import { SnapdebugError } from '../../../src/core/util/errors';
import type { ProgressEvent } from '../../../src/core/util/progress';
import { LocalRunner, type RunOptions, type RunResult, type Runner, type StreamProcess } from '../../../src/core/ssh/runner';
import { fixture, makeTempDir } from '../helpers';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A local runner whose first `cuts` streams die after `afterBytes` bytes, each counted as a dropped link. */
class DroppingRunner implements Runner {
  readonly label = 'flaky';
  private dropped = 0;
  /** How many pushes the host was asked to receive. */
  receives = 0;
  private readonly inner = new LocalRunner();

  constructor(
    private readonly afterBytes: number,
    private cuts: number,
  ) {}

  drops(): number {
    return this.dropped;
  }

  /** Every short command run, and a sha256 the host claims instead of computing it. */
  readonly runs: string[] = [];
  claimedSha256: string | undefined;

  async run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    this.runs.push(argv.join(' '));
    if (argv[0] === 'sha256sum' && this.claimedSha256) return { stdout: `${this.claimedSha256}  ${argv[1]}\n`, stderr: '', exitCode: 0 };
    return this.inner.run(argv, options);
  }

  async start(argv: readonly string[], options?: { signal?: AbortSignal }): Promise<StreamProcess> {
    const process = await this.inner.start(argv, options);
    if (argv[3] === 'snapdebug-receive') this.receives++;
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

/**
 * A runner whose streams write straight into a file, as OpenSSH's ssh does (opensshRunner.ts
 * startToFile): the first `cuts` of them stop after `afterBytes` bytes with ssh's own failure
 * status, each counted as a dropped link.
 */
class DroppingFileRunner extends DroppingRunner {
  private fileCuts: number;
  private fileDrops = 0;
  /** The byte ranges each stream was asked for ("start:length"). */
  readonly asked: string[][] = [];

  constructor(
    private readonly cutAfter: number,
    cuts: number,
  ) {
    super(cutAfter, 0);
    this.fileCuts = cuts;
  }

  override drops(): number {
    return this.fileDrops;
  }

  startToFile(argv: readonly string[], fd: number): { stderrText(): string; exit: Promise<number | null>; close(): void } {
    this.asked.push(argv.slice(5));
    const cut = this.fileCuts-- > 0;
    // The remote script, with its output cut short the way a dropped link cuts it.
    const script = cut ? `{ ${argv[2]}; } | head -c ${this.cutAfter}; exit 255` : argv[2]!;
    const child = spawn('sh', ['-c', script, ...argv.slice(3)], { stdio: ['ignore', fd, 'pipe'] });
    const exit = new Promise<number | null>((resolve) => child.once('close', resolve)).then((code) => {
      if (code === 255) this.fileDrops++;
      return code;
    });
    return { stderrText: () => '', exit, close: () => child.kill() };
  }
}

/** As far as a transfer asks: a host still holding the work after a reconnect (or not), told when asked. */
function workOn(host: Host, dir: string, holds: boolean, onAsked: () => void = () => undefined): RemoteWork {
  const stillHolds = async () => {
    onAsked();
    return holds;
  };
  return { host, dir, generation: 1, session: { stillHolds }, file: (name: string) => join(dir, name) } as unknown as RemoteWork;
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

  it('a pull written by ssh itself resumes from the bytes in the file, and the whole file verifies', async () => {
    const data = randomBytes(5 * MiB + 777);
    const source = join(temp.dir, 'archive.tar');
    writeFileSync(source, data);
    const runner = new DroppingFileRunner(2 * MiB + 3, 1);
    const host = new Host('prod', runner);
    const resumedAt: number[] = [];
    const received = await pullFile([host], source, join(temp.dir, 'direct.part'), {
      blockBytes: MiB,
      rangesPerLane: 1,
      work: workOn(host, temp.dir, true),
      onResume: (held) => resumedAt.push(held),
    });
    assert.deepEqual(received, { bytes: data.length, sha256: sha256(data) });
    assert.ok(readFileSync(join(temp.dir, 'direct.part')).equals(data));
    assert.deepEqual(resumedAt, [2 * MiB + 3]);
    // Pieced together after the drop: the host hashed the whole file, and it matched.
    assert.equal(runner.runs.filter((r) => r.startsWith('sha256sum ')).length, 1);
    // The second stream asked for exactly the rest: the rest of block 2, then blocks 3 to 5.
    assert.deepEqual(runner.asked[1], [`${2 * MiB + 3}:${MiB - 3}`, `${3 * MiB}:${MiB}`, `${4 * MiB}:${MiB}`, `${5 * MiB}:777`]);
  });

  it('one unbroken stream is not hashed again on the host (SSH authenticates it); a pieced-together file is, and a disagreement is refused', async () => {
    const data = randomBytes(3 * MiB + 5);
    const source = join(temp.dir, 'archive.tar');
    writeFileSync(source, data);
    const single = new DroppingFileRunner(0, 0);
    const whole = await pullFile([new Host('prod', single)], source, join(temp.dir, 'one.part'), { blockBytes: MiB, rangesPerLane: 1 });
    assert.equal(whole.sha256, sha256(data));
    assert.deepEqual(single.runs.filter((r) => r.startsWith('sha256sum ')), [], 'production hashed nothing');

    const striped = new DroppingRunner(0, 0);
    striped.claimedSha256 = 'f'.repeat(64);
    const dest = join(temp.dir, 'striped.part');
    await assert.rejects(pullFile([new Host('prod', striped)], source, dest, { blockBytes: MiB, rangesPerLane: 2 }), /arrived damaged from prod: sha256 [0-9a-f]{64} here, f{64} there/);
    assert.deepEqual(striped.runs.filter((r) => r.startsWith('sha256sum ')), [`sha256sum ${source}`]);
    assert.equal(existsSync(dest), false, 'the damaged file is not kept');
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

  it('a source that refuses itself mid-way (a copy not approved) fails the send with its own sentence', async () => {
    const host = new Host('debug', new DroppingRunner(MiB, 0));
    const refusing = () =>
      new Readable({
        read() {
          this.push(randomBytes(64 * 1024));
          this.destroy(new SnapdebugError('spec.dump asks for an OCI hook: the copy is refused.'));
        },
      });
    await assert.rejects(sendToHost(workOn(host, temp.dir, true), join(temp.dir, 'copy.tar'), refusing, { resumable: true }), (error: Error) => error.message === 'spec.dump asks for an OCI hook: the copy is refused.');
  });

  describe('a push from the store', () => {
    const data = randomBytes(6 * MiB + 99);
    function storeWith(id: string) {
      const core = createCore({ prompts: undefined as never, storeDir: join(temp.dir, 'store') });
      core.store.ensure();
      const meta: SnapshotMeta = {
        id,
        kind: 'checkpoint',
        createdAt: '2026-12-01T00:00:00.000Z',
        source: { host: 'prod', container: 'demo-api' },
        podmanVersion: '5.4.2',
        options: { leaveRunning: true },
        compression: 'zstd',
        archive: `${id}.tar.zst`,
        size: data.length,
        sha256: sha256(data),
        sourceLeftRunning: true,
        timings: { checkpointMs: 1, totalMs: 1 },
      };
      writeFileSync(core.store.partPath(id), data);
      return { core, meta: core.store.commit(core.store.partPath(id), meta) };
    }

    it('hashes the stored archive again before it resumes, then sends the rest', async () => {
      const { core, meta } = storeWith('resumed-1');
      const runner = new DroppingRunner(2 * MiB + 5, 1);
      const events: ProgressEvent[] = [];
      try {
        const pushed = await pushSnapshot(core, meta, workOn(new Host('debug', runner), temp.dir, true), {}, { progress: (e) => events.push(e) });
        assert.equal(pushed.sha256, meta.sha256);
        assert.ok(readFileSync(join(temp.dir, 'archive.tar.zst')).equals(data), 'the file on the host is whole');
        assert.equal(runner.receives, 2, 'one send, one resume');
        const verifying = [...new Set(events.filter((e) => e.phase === 'verify').map((e) => e.message))];
        assert.deepEqual(verifying, ['Checking the sha256 of resumed-1 in the store', 'Checking the sha256 of resumed-1 in the store again before resuming']);
        const again = events.filter((e) => e.message.endsWith('again before resuming'));
        assert.equal(again.at(-1)!.bytes, data.length, 'the whole archive was hashed again');
      } finally {
        core.dispose();
      }
    });

    it('a relabelled archive crosses the link compressed as the snapshot was (zstd), and plain when it was not', async () => {
      // A real podman archive's layout; slow links are where sending it as a plain tar hurt.
      const layout = readFileSync(fixture('demo-api-layout.tar.zst'));
      for (const compression of ['zstd', 'none'] as const) {
        const bytes = compression === 'zstd' ? layout : execFileSync('zstd', ['-dc'], { input: layout, maxBuffer: 64 * MiB });
        const id = `relabelled-${compression}`;
        const core = createCore({ prompts: undefined as never, storeDir: join(temp.dir, `store-${compression}`) });
        core.store.ensure();
        writeFileSync(core.store.partPath(id), bytes);
        const meta = core.store.commit(core.store.partPath(id), {
          id,
          kind: 'checkpoint',
          createdAt: '2026-12-01T00:00:00.000Z',
          source: { host: 'prod', container: 'demo-api' },
          podmanVersion: '5.4.2',
          options: { leaveRunning: true, compress: compression },
          compression,
          archive: `${id}${compression === 'zstd' ? '.tar.zst' : '.tar'}`,
          size: bytes.length,
          sha256: sha256(bytes),
          sourceLeftRunning: true,
          timings: { checkpointMs: 1, totalMs: 1 },
        });
        const dir = join(temp.dir, `host-${compression}`);
        mkdirSync(dir);
        try {
          const pushed = await pushSnapshot(core, meta, workOn(new Host('debug', new DroppingRunner(0, 0)), dir, true), { rewrite: { labels: { 'snapdebug.origin': id }, original: {} } });
          const sent = readFileSync(pushed.path);
          assert.equal(sent.readUInt32LE(0) === 0xfd2fb528, compression === 'zstd', `${compression}: zstd magic`);
          assert.equal(pushed.sha256, sha256(sent), 'the hash verified is the bytes sent');
          const tar = compression === 'zstd' ? execFileSync('zstd', ['-dc'], { input: sent, maxBuffer: 64 * MiB }) : sent;
          const config = JSON.parse(execFileSync('tar', ['-xOf', '-', 'config.dump'], { input: tar, encoding: 'utf8', maxBuffer: 64 * MiB })) as { labels: Record<string, string> };
          assert.equal(config.labels['snapdebug.origin'], id, `${compression}: relabelled`);
        } finally {
          core.dispose();
        }
      }
    });

    it('refuses an archive replaced while the link was down, and sends none of it', async () => {
      const { core, meta } = storeWith('swapped-1');
      const runner = new DroppingRunner(2 * MiB + 5, 1);
      const forged = Buffer.from(data);
      forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff;
      // While the client reconnects, someone replaces the archive in the store.
      const work = workOn(new Host('debug', runner), temp.dir, true, () => writeFileSync(core.store.archivePath(meta), forged));
      try {
        await assert.rejects(pushSnapshot(core, meta, work, {}), /swapped-1 in the store is not the one checkpointed/);
        assert.equal(runner.receives, 1, 'the host was never asked to continue');
        const arrived = statSync(join(temp.dir, 'archive.tar.zst')).size;
        assert.ok(arrived <= 2 * MiB + 5, `only what went before the drop is on the host (${arrived} bytes)`);
      } finally {
        core.dispose();
      }
    });
  });
});
