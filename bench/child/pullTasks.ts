// The ways of pulling one file from a host that bench/pull.ts compares, each run in the child:
// the product's pullFile (lanes × ranges per lane), and by hand with bare ssh2 (exec channels
// with a chosen cipher, SFTP fastGet). Every variant ends with the same sha256 of the local file,
// which the parent checks against the host's; the file is removed after (not timed).
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, openSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createCore } from '../../src/core/core';
import { pullFile } from '../../src/core/snapshot/pull';
import { pullFrom, pullLayout, type PullLayout } from '../../src/core/snapshot/pullLanes';
import { connectRaw, execStream, sftpOf } from './rawSsh';
import { sampleRss, type RssReport } from './memory';

export const refusePrompts = {
  confirmHostKey: async () => false,
  passphrase: async () => undefined,
  password: async () => undefined,
};

export interface PullResult {
  ms: number;
  bytes: number;
  sha256: string;
  rss?: RssReport;
}

export interface PullTask {
  kind: 'pull';
  sshConfig: string;
  host: string;
  path: string;
  dest: string;
  lanes: number;
  rangesPerLane?: number;
  windowBytes?: number;
  sampleRss?: boolean;
  /**
   * product: the layout checkpoint.ts uses (pullLayout, its defaults; lanes ignored); openssh:
   * `lanes` OpenSSH ssh processes; ssh2 (the default): `lanes` ssh2 connections × rangesPerLane.
   */
  via?: 'product' | 'openssh' | 'ssh2';
  /**
   * Start timing once the core is connected and knows how to reach the host, as a checkpoint's
   * pull starts (podman ran over the same connection; the layout was learnt while it wrote).
   */
  connected?: boolean;
}

export interface ExecTask {
  kind: 'exec';
  sshConfig: string;
  host: string;
  path: string;
  dest: string;
  size: number;
  ciphers?: string[];
  connections: number;
  channelsPerConnection: number;
}

export interface SftpTask {
  kind: 'sftp';
  sshConfig: string;
  host: string;
  path: string;
  dest: string;
  ciphers?: string[];
  chunkSize?: number;
  concurrency?: number;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The product as it pulls: pullFile over `lanes` connections from a fresh core. */
export async function pullOurs(task: PullTask): Promise<PullResult> {
  const rss = task.sampleRss ? sampleRss() : undefined;
  let started = performance.now();
  const via = task.via ?? 'ssh2';
  const core = createCore({
    sshConfigFile: task.sshConfig,
    storeDir: dirname(task.dest),
    prompts: refusePrompts,
    ...(via === 'ssh2' && { sshProgram: null }),
    ...(via === 'openssh' && { settings: { opensshStreams: task.lanes } }),
  });
  try {
    const layout = via === 'ssh2' ? { lanes: core.hosts.lanes(task.host, task.lanes), rangesPerLane: task.rangesPerLane, via } : await pullLayout(core, task.host);
    if (via === 'openssh' && layout.via !== 'openssh') throw new Error('OpenSSH ssh was asked for, but the pull fell back to ssh2');
    if (task.connected) {
      await core.hosts.get(task.host).runner.run(['true']); // the ssh2 login a checkpoint has behind it
      started = performance.now();
    }
    // The product pulls through pullFrom (its fallback when ssh cannot log in); the variants as laid out.
    const received =
      via === 'product'
        ? await pullFrom(core, task.host, task.path, task.dest, { layout: Promise.resolve(layout as PullLayout) })
        : await pullFile(layout.lanes, task.path, task.dest, {
            ...(layout.rangesPerLane !== undefined && { rangesPerLane: layout.rangesPerLane }),
            ...(task.windowBytes !== undefined && { windowBytes: task.windowBytes }),
          });
    const ms = performance.now() - started;
    return { ms, ...received, ...(rss && { rss: rss.stop() }) };
  } finally {
    core.dispose();
    rmSync(task.dest, { force: true });
  }
}

const MiB = 1024 * 1024;

/** Contiguous ranges, one per channel, on 1 MiB boundaries: the layout pull.ts used before striping. */
function splitRanges(size: number, lanes: number): Array<{ start: number; length: number }> {
  const count = Math.max(1, Math.min(lanes, Math.ceil(size / MiB)));
  const step = Math.ceil(size / count / MiB) * MiB;
  const ranges: Array<{ start: number; length: number }> = [];
  for (let start = 0; start < size; start += step) ranges.push({ start, length: Math.min(step, size - start) });
  return ranges.length > 0 ? ranges : [{ start: 0, length: 0 }];
}

/** Byte ranges over bare exec channels (`dd`), `channelsPerConnection` on each connection. */
export async function pullExec(task: ExecTask): Promise<PullResult> {
  const started = performance.now();
  const clients = await Promise.all(Array.from({ length: task.connections }, () => connectRaw(task.sshConfig, task.host, task.ciphers)));
  try {
    closeSync(openSync(task.dest, 'wx', 0o600));
    const ranges = splitRanges(task.size, task.connections * task.channelsPerConnection);
    await Promise.all(
      ranges.map(async (range, index) => {
        const command = `dd if=${task.path} bs=1M iflag=skip_bytes,count_bytes skip=${range.start} count=${range.length} status=none`;
        const channel = await execStream(clients[index % clients.length]!, command);
        channel.stderr.resume();
        await pipeline(channel, createWriteStream(task.dest, { flags: 'r+', start: range.start, highWaterMark: 1024 * 1024 }));
      }),
    );
    const sha256 = await sha256File(task.dest);
    return { ms: performance.now() - started, bytes: task.size, sha256 };
  } finally {
    for (const client of clients) client.end();
    rmSync(task.dest, { force: true });
  }
}

/** ssh2's SFTP fastGet (parallel read requests on one channel). */
export async function pullSftp(task: SftpTask): Promise<PullResult> {
  const started = performance.now();
  const client = await connectRaw(task.sshConfig, task.host, task.ciphers);
  try {
    const sftp = await sftpOf(client);
    await new Promise<void>((resolve, reject) =>
      sftp.fastGet(
        task.path,
        task.dest,
        { ...(task.chunkSize !== undefined && { chunkSize: task.chunkSize }), ...(task.concurrency !== undefined && { concurrency: task.concurrency }) },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    const sha256 = await sha256File(task.dest);
    const bytes = statSync(task.dest).size;
    return { ms: performance.now() - started, bytes, sha256 };
  } finally {
    client.end();
    rmSync(task.dest, { force: true });
  }
}
