// What was taken from a copy — heap snapshots, CPU profiles, thread and heap dumps — kept in the
// store beside the snapshot the copy came from: a folder `<snapshot id>.d` (0700) of files (0600,
// created exclusively), written as `.part` and renamed only when complete. They hold process
// memory like the archive itself, and go with the snapshot when it is deleted.
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SnapdebugError } from '../util/errors';
import type { SnapshotStore } from './store';
import { snapshotIdPattern } from './storeSchema';

export type ArtifactKind = 'heapsnapshot' | 'cpuprofile' | 'hprof' | 'threads';

/** The file endings VS Code's viewers (and other tools) recognise. */
export const artifactExtensions: Record<ArtifactKind, string> = {
  heapsnapshot: '.heapsnapshot',
  cpuprofile: '.cpuprofile',
  hprof: '.hprof',
  threads: '.threads.txt',
};

export const artifactTitles: Record<ArtifactKind, string> = {
  heapsnapshot: 'heap snapshot',
  cpuprofile: 'CPU profile',
  hprof: 'heap dump',
  threads: 'thread dump',
};

export interface Artifact {
  snapshot: string;
  kind: ArtifactKind;
  /** The file name, e.g. demo-api-snap-101502-20261201-101733.heapsnapshot. */
  name: string;
  path: string;
  size: number;
  createdAt: string;
}

const copyNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function artifactDir(store: SnapshotStore, snapshotId: string): string {
  if (!snapshotIdPattern.test(snapshotId)) throw new SnapdebugError(`"${snapshotId}" is not a snapshot id.`);
  return join(store.dir, `${snapshotId}.d`);
}

function kindOf(name: string): ArtifactKind | undefined {
  return (Object.keys(artifactExtensions) as ArtifactKind[]).find((kind) => name.endsWith(artifactExtensions[kind]));
}

export function artifactsIn(store: SnapshotStore, snapshotId: string): Artifact[] {
  const dir = artifactDir(store, snapshotId);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((name) => {
      const kind = kindOf(name);
      if (!kind) return [];
      const stat = statSync(join(dir, name));
      return stat.isFile() ? [{ snapshot: snapshotId, kind, name, path: join(dir, name), size: stat.size, createdAt: stat.mtime.toISOString() }] : [];
    })
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** A file being written beside a snapshot: `commit()` makes it an artifact, `discard()` removes it. */
export interface ArtifactWriter {
  stream: WriteStream;
  commit(): Promise<Artifact>;
  discard(): void;
}

export function createArtifact(store: SnapshotStore, snapshotId: string, copy: string, kind: ArtifactKind, now = new Date(), suffix = randomBytes(2).toString('hex')): ArtifactWriter {
  if (!copyNamePattern.test(copy)) throw new SnapdebugError(`"${copy}" is not a container name.`);
  store.ensure();
  const dir = artifactDir(store, snapshotId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = `${copy}-${stamp(now)}-${suffix}${artifactExtensions[kind]}`;
  // The part names this process, so the store's sweep can tell one a dead process left (store.ts).
  const part = join(dir, `${name}.${process.pid}.part`);
  // 'wx': created here, never an existing file (or a link someone put there) reused.
  const stream = createWriteStream(part, { flags: 'wx', mode: 0o600 });
  const closed = new Promise<void>((resolve, reject) => {
    stream.once('close', resolve);
    stream.once('error', reject);
  });
  closed.catch(() => undefined); // reported by commit(); a discarded writer's error is nobody's
  return {
    stream,
    async commit() {
      if (!stream.writableEnded) stream.end();
      await closed;
      const path = join(dir, name);
      renameSync(part, path);
      return { snapshot: snapshotId, kind, name, path, size: statSync(path).size, createdAt: now.toISOString() };
    },
    discard() {
      stream.destroy();
      rmSync(part, { force: true });
    },
  };
}

/** Removes one artifact; only a file of an artifact folder of this store is ever removed. */
export function removeArtifactFile(store: SnapshotStore, path: string): void {
  const dir = dirname(path);
  if (dirname(dir) !== store.dir || !/\.d$/.test(dir) || kindOf(basename(path)) === undefined) {
    throw new SnapdebugError(`${path} is not a file snapdebug saved in ${store.dir}.`);
  }
  rmSync(path, { force: true });
}
