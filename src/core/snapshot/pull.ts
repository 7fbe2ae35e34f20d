// Pulling a file from a host into the store in parallel byte ranges, one SSH connection ("lane")
// each: a single encrypted stream is bound by one core on each side, two or more are not. The
// host hashes the file (sha256sum) while the ranges travel; we hash the finished file and compare.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, openSync, rmSync } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Host } from '../host';
import { AbortError, isAbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import type { Received } from './transfer';

const rangeAlignBytes = 1024 * 1024;

export async function remoteSize(host: Host, path: string): Promise<number> {
  const result = await host.runner.run(host.privileged(['stat', '--format', '%s', path]));
  const size = Number(result.stdout.trim());
  if (result.exitCode !== 0 || !Number.isFinite(size)) {
    throw new SnapdebugError(`Cannot read ${path} on ${host.name}.`, { detail: result.stderr });
  }
  return size;
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function splitRanges(size: number, lanes: number): Array<{ start: number; length: number }> {
  const count = Math.max(1, Math.min(lanes, Math.ceil(size / rangeAlignBytes)));
  const step = Math.ceil(size / count / rangeAlignBytes) * rangeAlignBytes;
  const ranges: Array<{ start: number; length: number }> = [];
  for (let start = 0; start < size; start += step) ranges.push({ start, length: Math.min(step, size - start) });
  return ranges.length > 0 ? ranges : [{ start: 0, length: 0 }];
}

export async function pullFile(
  lanes: Host[],
  remotePath: string,
  dest: string,
  options: { signal?: AbortSignal; onChunk?: (chunk: Buffer, total: number) => void },
): Promise<Received> {
  const host = lanes[0]!;
  const size = await remoteSize(host, remotePath);
  const ranges = splitRanges(size, lanes.length);
  closeSync(openSync(dest, 'wx', 0o600));
  let total = 0;
  const remoteHash = host.runner.run(host.privileged(['sha256sum', remotePath]), options.signal ? { signal: options.signal } : {});
  try {
    await Promise.all(
      ranges.map(async (range, index) => {
        const lane = lanes[index % lanes.length]!;
        const process = await lane.runner.start(
          lane.privileged(['dd', `if=${remotePath}`, 'bs=1M', 'iflag=skip_bytes,count_bytes', `skip=${range.start}`, `count=${range.length}`, 'status=none']),
          options.signal ? { signal: options.signal } : {},
        );
        const onAbort = () => process.close();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          const count = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              total += chunk.length;
              options.onChunk?.(chunk, total);
              done(null, chunk);
            },
          });
          await pipeline(process.stdout, count, createWriteStream(dest, { flags: 'r+', start: range.start, highWaterMark: 1024 * 1024 }));
          const code = await process.exit;
          if (code !== 0) throw new SnapdebugError(`Reading ${remotePath} on ${lane.name} failed.`, { detail: process.stderrText() });
        } finally {
          options.signal?.removeEventListener('abort', onAbort);
        }
      }),
    );
    if (options.signal?.aborted) throw new AbortError();
    if (total !== size) throw new SnapdebugError(`Pulled ${total} of ${size} bytes of ${remotePath} from ${host.name}.`);
    const [local, remote] = await Promise.all([sha256OfFile(dest), remoteHash]);
    const remoteSha = /^([0-9a-f]{64})/.exec(remote.stdout)?.[1];
    if (remoteSha !== local) {
      throw new SnapdebugError(`${remotePath} arrived damaged from ${host.name}: sha256 ${local} here, ${remoteSha ?? 'none'} there.`);
    }
    return { bytes: size, sha256: local };
  } catch (error) {
    rmSync(dest, { force: true });
    if (options.signal?.aborted || isAbortError(error)) throw new AbortError();
    throw error;
  }
}
