// The lab's slow parts (root file systems and images, about two minutes to build) are cached
// outside the checkout, keyed by a hash of everything that goes into them, and built into a
// temporary folder that is renamed into place only on success: no half-built cache survives.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { cacheRoot, labDir } from './paths';

/** Inputs of the cached build: the recipe and the demo services baked into images. */
const recipeInputs = ['recipe', 'demo-api', 'demo-python', 'demo-native', 'demo-go', 'demo-java'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? filesUnder(path) : [path];
    })
    .sort();
}

export function recipeHash(): string {
  const hash = createHash('sha256');
  for (const input of recipeInputs) {
    for (const file of filesUnder(join(labDir, input))) {
      hash.update(relative(labDir, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

export interface LabCache {
  dir: string;
  hostRootfs: string;
  images: string;
  versions: { podman: string; criu: string; runc: string };
}

function cacheAt(dir: string): LabCache {
  return {
    dir,
    hostRootfs: join(dir, 'host-rootfs'),
    images: join(dir, 'images'),
    versions: JSON.parse(readFileSync(join(dir, 'versions.json'), 'utf8')),
  };
}

export function cachedBuild(hash = recipeHash()): LabCache | undefined {
  const dir = join(cacheRoot, hash);
  return existsSync(join(dir, 'versions.json')) ? cacheAt(dir) : undefined;
}

/** Builds the cache for the current recipe unless it exists; removes caches of older recipes. */
export async function ensureCache(say: (line: string) => void): Promise<LabCache> {
  const hash = recipeHash();
  const ready = cachedBuild(hash);
  if (ready) return ready;

  mkdirSync(cacheRoot, { recursive: true, mode: 0o700 });
  const building = join(cacheRoot, `${hash}.building-${process.pid}`);
  rmSync(building, { recursive: true, force: true });
  say(`building the lab cache ${hash} (first run: about 2 minutes)`);
  try {
    const build = execa('bash', [join(labDir, 'recipe', 'build-cache.sh'), building, labDir, join(cacheRoot, 'debs')], {
      all: true,
    });
    build.all?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.startsWith('[build')) say(line);
    });
    await build;
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    const detail = (error as { all?: string }).all?.split('\n').slice(-15).join('\n') ?? String(error);
    throw new Error(`building the lab's root file systems failed:\n${detail}`);
  }
  const dir = join(cacheRoot, hash);
  renameSync(building, dir);
  removeStaleCaches(hash);
  return cacheAt(dir);
}

function removeStaleCaches(current: string): void {
  for (const name of readdirSync(cacheRoot)) {
    const path = join(cacheRoot, name);
    const stale = /^[0-9a-f]{16}$/.test(name) && name !== current;
    const abandoned = /\.building-(\d+)$/.exec(name);
    const abandonedByDeadBuild = abandoned !== null && !existsSync(`/proc/${abandoned[1]}`);
    if ((stale || abandonedByDeadBuild) && statSync(path).isDirectory()) rmSync(path, { recursive: true, force: true });
  }
}
