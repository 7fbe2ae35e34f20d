// Run by archiveMemory.test.ts in a process of its own (node --expose-gc --import tsx): feeds one
// hostile archive to one reader of the product and prints, as JSON, how far its resident memory
// rose above the baseline (the kernel's VmHWM high-water mark, which misses no peak), how many
// bytes the reader got through, and the error it stopped with.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArchiveInspector } from '../../../src/core/archive/checkpointArchive';
import { decompressor, zstdProgram } from '../../../src/core/archive/decompress';
import { DumpRewriter, entryRewrites } from '../../../src/core/archive/relabel';
import { archiveStream, tarEntries } from '../../../src/core/archive/tar';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endMarker, gzipParts, header, podmanEntries, zstdFrame, zstdWindowBomb } from './tarBuild';

const GiB = 1024 * 1024 * 1024;
const [input, reader] = process.argv.slice(2) as [string, string];

function hwmBytes(): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
}

const rest = Buffer.concat([...podmanEntries({ name: 'demo', createNetNS: true }), endMarker]);
/** The compressed archive: a body of 1 GiB of zeros, or a header that lies about a size or a window. */
function archive(): Buffer {
  switch (input) {
    case 'zeros-zstd':
      return zstdFrame([header({ name: 'devshm-checkpoint.tar', size: GiB }), { zeros: GiB }, rest]);
    case 'zeros-gzip':
      return gzipParts([header({ name: 'devshm-checkpoint.tar', size: GiB }), { zeros: GiB }, rest]);
    case 'pax-record':
      // A pax header whose own record claims 1 GiB: the old reader kept every pax body.
      return zstdFrame([header({ name: 'PaxHeaders/x', size: GiB, flag: 'x' }), { zeros: GiB }]);
    case 'kept-entry':
      return zstdFrame([header({ name: 'config.dump', size: GiB }), { zeros: GiB }]);
    case 'window':
      return zstdWindowBomb(1.5 * GiB);
    default:
      throw new Error(`unknown input ${input}`);
  }
}

async function read(compressed: Buffer): Promise<number> {
  let bytes = 0;
  const source = () => Readable.from([compressed]);
  const count = new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done();
    },
  });
  switch (reader) {
    case 'entries': {
      // tarEntries over the zstd program's output, every body read.
      const plain = decompressor(zstdProgram());
      source().pipe(plain);
      for await (const { body } of tarEntries(plain)) for await (const chunk of body) bytes += chunk.length;
      return bytes;
    }
    case 'file': {
      // tarEntries over archiveStream of a file, as the inspector reads a snapshot: the zstd
      // program reads the file, its output comes through one reused buffer (zstdFile.ts).
      const dir = mkdtempSync(join(tmpdir(), 'snapdebug-bomb-'));
      try {
        writeFileSync(join(dir, 'archive'), compressed, { mode: 0o600 });
        for await (const { body } of tarEntries(archiveStream(join(dir, 'archive')))) for await (const chunk of body) bytes += chunk.length;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return bytes;
    }
    case 'rewriter': {
      // The relabeller behind fzstd (the fallback decoder), as push.ts chains them.
      const rewriter = new DumpRewriter(entryRewrites({ labels: { a: 'b' } }), {}, { approve: async () => undefined });
      await pipeline(source(), decompressor(null), rewriter, count);
      return bytes;
    }
    case 'inspector': {
      const inspector = new ArchiveInspector();
      for (let at = 0; at < compressed.length && !inspector.complete; at += 65536) inspector.push(compressed.subarray(at, at + 65536));
      const facts = await inspector.finish();
      if (facts.refused) throw new Error(facts.refused);
      return compressed.length;
    }
    default:
      throw new Error(`unknown reader ${reader}`);
  }
}

const compressed = archive();
(globalThis as { gc?: () => void }).gc?.();
const baseline = process.memoryUsage.rss();
writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM: start-up peaks do not count
let peak = baseline;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
let error: string | undefined;
let bytes = 0;
try {
  bytes = await read(compressed);
} catch (caught) {
  error = caught instanceof Error ? caught.message : String(caught);
}
clearInterval(timer);
peak = Math.max(peak, hwmBytes());
console.log(JSON.stringify({ inputBytes: compressed.length, bytes, growthBytes: peak - baseline, error }));
