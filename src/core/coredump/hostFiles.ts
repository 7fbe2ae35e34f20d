// The program and shared libraries a core needs, read on the snapshot's source host from the
// container's image (`podman image mount`, read-only) or, where the image cannot be mounted (an
// image in a read-only additional store), from the container's own root file system (`podman
// container mount`, by the id the snapshot recorded); then one `tar` of exactly the files named,
// read as root with the host's own tools (never a program of the image's). Both are untrusted: a
// path is fetched only when `stat` shows every component a real directory and the file a regular
// file, so no symlink can lead the read out of that root. (A running container could still swap a
// directory between that check and the read; the image, when it can be mounted, cannot.)
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tarEntries } from '../archive/tar';
import type { Host } from '../host';
import { podman } from '../podman/commands';
import { SnapdebugError } from '../util/errors';

export interface FetchReport {
  fetched: string[];
  missing: Array<{ path: string; reason: string }>;
}

/** Absolute, normalised container paths only; anything else is refused before it reaches a host. */
export function containerPath(path: string): string | undefined {
  if (!path.startsWith('/') || path.includes('\0') || path.includes('\n') || posix.normalize(path) !== path || path === '/') return undefined;
  return path;
}

/** Every directory on the way to each file, then the file: what `stat` is asked about. */
export function componentsOf(paths: string[]): string[] {
  const all = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/').filter(Boolean);
    parts.forEach((_, i) => all.add(`/${parts.slice(0, i + 1).join('/')}`));
  }
  return [...all];
}

/** Which requested files are safe to read, from `stat -c '%F<TAB>%n'` output under `mount`. */
export function safeFiles(paths: string[], mount: string, statOutput: string): FetchReport & { safe: string[] } {
  const kinds = new Map<string, string>();
  for (const line of statOutput.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) kinds.set(line.slice(tab + 1), line.slice(0, tab));
  }
  const report: FetchReport & { safe: string[] } = { fetched: [], missing: [], safe: [] };
  for (const path of paths) {
    const parts = path.split('/').filter(Boolean);
    const dirs = parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
    const kind = (p: string) => kinds.get(`${mount}${p}`);
    const badDir = dirs.find((d) => kind(d) !== 'directory');
    const fileKind = kind(path);
    if (badDir) report.missing.push({ path, reason: kind(badDir) ? `${badDir} is a ${kind(badDir)} in the image` : `${badDir} is not in the image` });
    else if (fileKind !== 'regular file' && fileKind !== 'regular empty file') {
      report.missing.push({ path, reason: fileKind ? `a ${fileKind} in the image` : 'not in the image (written by the container after it started?)' });
    } else report.safe.push(path);
  }
  return report;
}

export interface FileSources {
  image?: string;
  /** The container's id, for when its image cannot be mounted. */
  container?: string;
}

/** Mounts the image, else the container; returns where, how to let go, and what was mounted. */
async function mountRoot(host: Host, sources: FileSources, signal?: AbortSignal): Promise<{ mount: string; from: string; release: () => Promise<unknown> }> {
  const options = signal ? { signal } : {};
  const failures: string[] = [];
  if (sources.image) {
    try {
      const mount = await host.podman(podman.imageMount(sources.image), options);
      return { mount, from: `image ${sources.image}`, release: () => host.podman(podman.imageUnmount(sources.image!)) };
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  if (sources.container) {
    try {
      const mount = await host.podman(podman.containerMount(sources.container), options);
      return { mount, from: `container ${sources.container.slice(0, 12)}`, release: () => host.podman(podman.containerUnmount(sources.container!)) };
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  throw new SnapdebugError(failures.length ? failures.join(' ') : 'The snapshot names neither its image nor its container.');
}

/** Copies `paths` from the image (or container) on `host` to `destRoot` + path. Never throws for a missing file. */
export async function fetchHostFiles(host: Host, sources: FileSources, paths: string[], destRoot: string, signal?: AbortSignal): Promise<FetchReport & { from: string }> {
  const wanted = [...new Set(paths)];
  const refused = wanted.filter((p) => !containerPath(p)).map((path) => ({ path, reason: 'not a plain absolute path' }));
  const usable = wanted.filter((p) => containerPath(p));
  if (usable.length === 0) return { fetched: [], missing: refused, from: '' };
  const { mount, from, release } = await mountRoot(host, sources, signal);
  try {
    if (!containerPath(mount)) throw new SnapdebugError(`podman mount on ${host.name} answered "${mount}", not a folder.`);
    const stat = await host.runIdempotent(host.privileged(['stat', '-c', '%F\t%n', '--', ...componentsOf(usable).map((c) => `${mount}${c}`)]), signal ? { signal } : {});
    const report = { ...safeFiles(usable, mount, stat.stdout), from };
    report.missing.unshift(...refused);
    if (report.safe.length === 0) return report;
    const tar = await host.runner.start(host.privileged(['tar', '-C', mount, '-cf', '-', '--', ...report.safe.map((p) => p.slice(1))]), signal ? { signal } : {});
    const expected = new Set(report.safe.map((p) => p.slice(1)));
    for await (const { entry, body } of tarEntries(tar.stdout)) {
      if (entry.type !== 'file' || !expected.has(entry.name)) continue; // only what was asked for
      const target = join(destRoot, entry.name);
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      await pipeline(body, createWriteStream(target, { mode: 0o600 }));
      report.fetched.push(`/${entry.name}`);
      expected.delete(entry.name);
    }
    const code = await tar.exit;
    for (const name of expected) report.missing.push({ path: `/${name}`, reason: `tar on ${host.name} did not send it (exit ${code}): ${tar.stderrText().trim()}` });
    return report;
  } finally {
    await release().catch(() => undefined);
  }
}
