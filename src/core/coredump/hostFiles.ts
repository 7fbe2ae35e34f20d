// The program and shared libraries a core needs, read on the snapshot's source host from the
// container's image (`podman image mount`, read-only) or, where the image cannot be mounted (an
// image in a read-only additional store), from the container's own root file system (`podman
// container mount`, by the id the snapshot recorded), as remote work that unmounts it whatever
// happens; then one `tar` of exactly the files named, read as root with the host's own tools
// (never a program of the image's), through `nsenter` into the host's mount namespace, so that a
// sudo rule needs no more than snapdebug's few programs. Both are untrusted: a
// path is fetched only when `stat` shows every component a real directory and the file a regular
// file, so no symlink can lead the read out of that root. (A running container could still swap a
// directory between that check and the read; the image, when it can be mounted, cannot.)
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tarEntries } from '../archive/tar';
import type { Host } from '../host';
import { podman } from '../podman/commands';
import type { RemoteWork } from '../remote/work';
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

interface MountedRoot {
  mount: string;
  from: string;
  unmount: () => Promise<unknown>;
}

/**
 * How to name a container to podman's mount and unmount. podman 5.4.2's `container unmount` given
 * a full 64-character id exits 0 and releases nothing (the layer's mount count stays up; seen in
 * the lab), while by its short id it does: both commands get the short id.
 */
function containerRef(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}

/**
 * Mounts the image, else the container, as part of `work`: the undo step (unmount) is recorded
 * before each mount, so a client that dies mid-read leaves no mount behind. (A mount that then
 * fails leaves a step whose unmount fails harmlessly.)
 */
async function mountRoot(host: Host, work: RemoteWork, sources: FileSources, signal?: AbortSignal): Promise<MountedRoot> {
  const options = signal ? { signal } : {};
  const failures: string[] = [];
  const attempts = [
    ...(sources.image ? [{ what: 'image' as const, ref: sources.image, mount: podman.imageMount, unmount: podman.imageUnmount }] : []),
    ...(sources.container ? [{ what: 'container' as const, ref: containerRef(sources.container), mount: podman.containerMount, unmount: podman.containerUnmount }] : []),
  ];
  for (const attempt of attempts) {
    try {
      await work.willUndo({ kind: 'unmount', what: attempt.what, ref: attempt.ref });
      const mount = await host.podman(attempt.mount(attempt.ref), options);
      return { mount, from: `${attempt.what} ${attempt.ref}`, unmount: () => host.podman(attempt.unmount(attempt.ref)) };
    } catch (error) {
      if (signal?.aborted) throw error;
      failures.push((error as Error).message);
    }
  }
  throw new SnapdebugError(failures.length ? failures.join(' ') : 'The snapshot names neither its image nor its container.');
}

/**
 * argv for a program of the host itself (never one of the image's) run as root in the host's own
 * mount namespace, where podman mounted the image: through sudo only `nsenter` is asked for.
 */
function asRootOnHost(host: Host, argv: readonly string[]): string[] {
  return host.privileged(['nsenter', '--target', '1', '--mount', '--', ...argv]);
}

/**
 * Copies `paths` from the image (or container) on `host` to `destRoot` + path. Never throws for a
 * missing file. The mount is remote work: unmounted when done, or by the host if this client dies.
 */
export async function fetchHostFiles(
  host: Host,
  sources: FileSources,
  paths: string[],
  destRoot: string,
  options: { signal?: AbortSignal; log?: (line: string) => void; stalledMs?: number } = {},
): Promise<FetchReport & { from: string }> {
  const { signal } = options;
  const wanted = [...new Set(paths)];
  const refused = wanted.filter((p) => !containerPath(p)).map((path) => ({ path, reason: 'not a plain absolute path' }));
  const usable = wanted.filter((p) => containerPath(p));
  if (usable.length === 0) return { fetched: [], missing: refused, from: '' };
  const run = signal ? { signal } : {};
  const work = await host.beginWork('read the files a core maps', signal);
  try {
    const { mount, from, unmount } = await mountRoot(host, work, sources, signal);
    if (!containerPath(mount)) throw new SnapdebugError(`podman mount on ${host.name} answered "${mount}", not a folder.`);
    const stat = await host.runIdempotent(asRootOnHost(host, ['stat', '-c', '%F\t%n', '--', ...componentsOf(usable).map((c) => `${mount}${c}`)]), run);
    const report = { ...safeFiles(usable, mount, stat.stdout), from };
    report.missing.unshift(...refused);
    if (report.safe.length > 0) {
      const stalledMs = options.stalledMs ?? stalledTarMs;
      // A tar that stalls is asked once more, on a channel of its own.
      const got = report.fetched.length;
      await receiveFiles(host, mount, report, destRoot, stalledMs, signal).catch(async (error: unknown) => {
        if (!(error instanceof StalledTarError)) throw error;
        options.log?.(`${error.message} Asking once more.`);
        report.fetched.length = got;
        await receiveFiles(host, mount, report, destRoot, stalledMs, signal);
      });
    }
    await unmount();
    await work.finish();
    return report;
  } catch (error) {
    await work.abandon(options.log);
    throw error;
  }
}

/** How long the host's tar may send nothing before it is ended. */
const stalledTarMs = 60_000;

class StalledTarError extends SnapdebugError {}

/** One `tar` of exactly the safe files (hard links sent as files), written under destRoot. */
async function receiveFiles(host: Host, mount: string, report: FetchReport & { safe: string[] }, destRoot: string, stalledMs: number, signal?: AbortSignal): Promise<void> {
  const argv = ['tar', '--hard-dereference', '-C', mount, '-cf', '-', '--', ...report.safe.map((p) => p.slice(1))];
  const tar = await host.runner.start(asRootOnHost(host, argv), signal ? { signal } : {});
  const expected = new Set(report.safe.map((p) => p.slice(1)));
  // A tar that sends nothing for a minute is ended, and says so: a core's files are megabytes, and
  // a stalled channel must not hold the work (and the host's mount of the image) for ever.
  let stalled = false;
  const stall = setTimeout(() => ((stalled = true), tar.close()), stalledMs);
  tar.stdout.on('data', () => stall.refresh());
  try {
    for await (const { entry, body } of tarEntries(tar.stdout)) {
      if (entry.type !== 'file' || !expected.has(entry.name)) continue; // only what was asked for
      const target = join(destRoot, entry.name);
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      await pipeline(body, createWriteStream(target, { mode: 0o600 }));
      report.fetched.push(`/${entry.name}`);
      expected.delete(entry.name);
    }
    if (stalled) throw new Error('its output ended early');
  } catch (error) {
    tar.close();
    if (stalled) throw new StalledTarError(`tar on ${host.name} sent nothing for ${stalledMs / 1000} s while reading the files a core maps.`, { cause: error });
    throw error;
  } finally {
    clearTimeout(stall);
  }
  const code = await tar.exit;
  for (const name of expected) report.missing.push({ path: `/${name}`, reason: `tar on ${host.name} did not send it (exit ${code}): ${tar.stderrText().trim()}` });
}
