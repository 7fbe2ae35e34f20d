// checkpointctl 1.3.0 (Debian trixie, in the lab hosts' root file system) run here, on this
// machine, through that root's own loader and libraries (it needs glibc 2.38; Debian 12 has 2.36):
// the reference the inspector's tests and benchmarks compare against.
//
// checkpointctl 1.3.0 reads a pagemap entry's page count from the field CRIU used before 4.2
// (CRIU 4.2 writes 0 there and the count in a new 64-bit field), so on the lab's archives it sees
// no memory at all: memparse finds nothing and ps-tree-cmd/-env print blanks. compatArchive()
// writes a copy whose pagemaps carry the count in the old field too (pages untouched), which
// checkpointctl reads correctly: the comparisons of memory run on such a copy.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEntry, imageEntries, u64n } from '../src/core/criu/image';
import { criuType } from '../src/core/criu/schema';
import { cachedBuild } from './cache';

/** argv that runs checkpointctl here: the loader, the library path, the program. */
export function checkpointctlCommand(): string[] {
  const cache = cachedBuild();
  if (!cache) throw new Error('the lab cache is not built: run npx tsx lab/cli.ts up first');
  const root = cache.hostRootfs;
  return [join(root, 'lib64/ld-linux-x86-64.so.2'), '--library-path', join(root, 'lib/x86_64-linux-gnu'), join(root, 'usr/bin/checkpointctl')];
}

export function checkpointctl(args: string[]): string {
  const [loader, ...rest] = checkpointctlCommand();
  return execFileSync(loader!, [...rest, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Rewrites every pagemap-N.img under `dir` with the page count in the pre-4.2 field as well. */
export function compatPagemaps(dir: string): void {
  for (const name of readdirSync(dir).filter((n) => /^pagemap-\d+\.img$/.test(n))) {
    const image = readFileSync(join(dir, name));
    const entries = imageEntries(name, image, 'pagemap');
    const parts: Buffer[] = [image.subarray(0, 8)];
    entries.forEach((entry, i) => {
      let bytes = entry;
      if (i > 0) {
        const message = decodeEntry<Record<string, unknown>>(name, entry, 'PagemapEntry');
        message['compatNrPages'] = u64n(message['nrPages'] as number);
        bytes = Buffer.from(criuType('PagemapEntry').encode(message).finish());
      }
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      parts.push(length, bytes);
    });
    writeFileSync(join(dir, name), Buffer.concat(parts));
  }
}

/** A plain tar copy of `archive` that checkpointctl 1.3.0 can read memory from (see above). */
export function compatArchive(archive: string, workDir: string): string {
  const tree = join(workDir, 'compat-tree');
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true, mode: 0o700 });
  execFileSync('tar', ['-xf', archive, '-C', tree]);
  compatPagemaps(join(tree, 'checkpoint'));
  const out = join(workDir, 'compat.tar');
  execFileSync('tar', ['-cf', out, '-C', tree, '.']);
  rmSync(tree, { recursive: true, force: true });
  return out;
}
