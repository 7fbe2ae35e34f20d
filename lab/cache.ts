// The lab's slow parts are cached outside the checkout, each keyed by a hash of its own inputs
// only: one root file system per kind of host (trixie, sid, bookworm) and the image store. A change
// to one part rebuilds that part alone. Each is built into a temporary folder renamed into place
// only on success: no half-built part survives.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { cacheRoot, labDir, type HostKind } from './paths';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) return [dir];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => filesUnder(join(dir, entry.name)))
    .sort();
}

/** Files (relative to lab/) each part is built from; any change to one of them rebuilds the part. */
export function partInputs(part: HostKind | 'images', dir = labDir): string[] {
  const recipe = (...names: string[]) => names.map((n) => join('recipe', n));
  if (part === 'images') {
    const demos = readdirSync(dir).filter((name) => name.startsWith('demo-')).sort();
    return [...recipe('build-cache.sh', 'build-images.sh', 'enter-root.sh', 'runtimes.sh', 'build-runtime-images.sh'), ...demos];
  }
  const ownFiles = readdirSync(join(dir, 'recipe', 'hosts')).filter((name) => name.startsWith(`${part}.`));
  return [...recipe('build-host.sh', 'host-files'), ...ownFiles.map((name) => join('recipe', 'hosts', name))];
}

/** The part's cache key: its name and every input file's path and content (`dir`: a lab folder). */
export function partHash(part: HostKind | 'images', dir = labDir): string {
  const hash = createHash('sha256').update(part).update('\0');
  for (const input of partInputs(part, dir)) {
    for (const file of filesUnder(join(dir, input))) {
      hash.update(relative(dir, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** What a host kind's root file system holds, as dpkg says (upstream versions). */
export interface HostVersions {
  suite: string;
  podman: string;
  criu: string;
  runc: string;
  /** Empty when crun is not installed. */
  crun: string;
  conmon: string;
}

export interface HostPart {
  dir: string;
  rootfs: string;
  versions: HostVersions;
}

export interface ImagesPart {
  dir: string;
  store: string;
  versions: { node: string };
}

const partDir = (part: string, hash: string) => join(cacheRoot, `${part}-${hash}`);

export function cachedHostPart(kind: HostKind, hash = partHash(kind)): HostPart | undefined {
  const dir = partDir(`host-${kind}`, hash);
  if (!existsSync(join(dir, 'versions.json'))) return undefined;
  return { dir, rootfs: join(dir, 'rootfs'), versions: JSON.parse(readFileSync(join(dir, 'versions.json'), 'utf8')) as HostVersions };
}

export function cachedImagesPart(hash = partHash('images')): ImagesPart | undefined {
  const dir = partDir('images', hash);
  if (!existsSync(join(dir, 'versions.json'))) return undefined;
  return { dir, store: join(dir, 'images'), versions: JSON.parse(readFileSync(join(dir, 'versions.json'), 'utf8')) as { node: string } };
}

type Say = (line: string) => void;

/** Runs one recipe script into NAME-HASH.building-PID, renamed to NAME-HASH on success. */
async function buildPart(name: string, hash: string, script: string, args: (out: string) => string[], say: Say): Promise<void> {
  mkdirSync(cacheRoot, { recursive: true, mode: 0o700 });
  const final = partDir(name, hash);
  const building = `${final}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  try {
    const build = execa('bash', [join(labDir, 'recipe', script), ...args(building)], { all: true });
    build.all?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.startsWith('[build')) say(line);
    });
    await build;
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    const detail = (error as { all?: string }).all?.split('\n').slice(-15).join('\n') ?? String(error);
    throw new Error(`building the lab's ${name} part failed:\n${detail}`);
  }
  renameSync(building, final);
  removeStaleParts(name, hash);
}

const debCache = () => join(cacheRoot, 'debs');

export async function ensureHostPart(kind: HostKind, say: Say): Promise<HostPart> {
  const hash = partHash(kind);
  const ready = cachedHostPart(kind, hash);
  if (ready) return ready;
  say(`building the ${kind} host root file system ${hash} (first run: about 2 minutes)`);
  await buildPart(`host-${kind}`, hash, 'build-host.sh', (out) => [kind, out, labDir, debCache()], say);
  return cachedHostPart(kind, hash)!;
}

/** The image store, written by the trixie host's podman (built first if needed). */
export async function ensureImagesPart(say: Say): Promise<ImagesPart> {
  const hash = partHash('images');
  const ready = cachedImagesPart(hash);
  if (ready) return ready;
  const trixie = await ensureHostPart('trixie', say);
  say(`building the lab's images ${hash} (first run: about 2 minutes)`);
  await buildPart('images', hash, 'build-cache.sh', (out) => [out, labDir, debCache(), trixie.rootfs], say);
  return cachedImagesPart(hash)!;
}

/**
 * Removes older builds of one part, builds abandoned by a dead process, and caches in the layout
 * before parts (a bare 16-digit hash folder).
 */
function removeStaleParts(name: string, current: string): void {
  for (const entry of readdirSync(cacheRoot)) {
    const path = join(cacheRoot, entry);
    const older = entry.startsWith(`${name}-`) && /^[0-9a-f]{16}$/.test(entry.slice(name.length + 1)) && entry !== `${name}-${current}`;
    const oldLayout = /^[0-9a-f]{16}$/.test(entry);
    const abandoned = /\.building-(\d+)$/.exec(entry);
    const abandonedByDeadBuild = abandoned !== null && !existsSync(`/proc/${abandoned[1]}`);
    if ((older || oldLayout || abandonedByDeadBuild) && statSync(path).isDirectory()) rmSync(path, { recursive: true, force: true });
  }
}
