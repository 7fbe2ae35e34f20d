// The local store: one folder (0700) holding each snapshot as an archive (0600) with a JSON file
// of metadata beside it. Archives hold process memory, secrets included, so nothing here is ever
// readable by another user, and an unfinished download only ever exists as `.part`.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Compression } from '../archive/checkpointArchive';
import type { CriuDumpStats } from '../archive/criuStats';
import type { CheckpointOptions } from '../podman/options';
import { SnapdebugError } from '../util/errors';

export interface SnapshotMeta {
  id: string;
  /** 'pre-checkpoint' archives only seed a later checkpoint with --with-previous. */
  kind: 'checkpoint' | 'pre-checkpoint';
  createdAt: string;
  source: {
    host: string;
    container: string;
    containerId?: string;
    image?: string;
    imageId?: string;
    /** Ports it published ("8080/tcp"): copies publish them on their host's loopback only. */
    ports?: string[];
    /** Named volumes it mounted: each copy gets its own, renamed (restore.ts). */
    volumes?: string[];
    /** The OCI runtime that took the checkpoint, which podman restores it with (runtime.ts). */
    runtime?: string;
  };
  podmanVersion: string;
  /** The source host's cgroup version ("v1", "v2"): a checkpoint restores only on the same (runtime.ts). */
  cgroupVersion?: string;
  criuVersion?: string;
  options: CheckpointOptions;
  compression: Compression;
  archive: string;
  size: number;
  sha256: string;
  criu?: CriuDumpStats;
  /** Whether the source container kept running (leave-running), as checked after the checkpoint. */
  sourceLeftRunning: boolean;
  /** The pre-checkpoint snapshot this one was taken --with-previous against. */
  parent?: string;
  timings: { checkpointMs: number; totalMs: number };
}

export const defaultStoreDir = join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'snapdebug', 'snapshots');

const extensionFor: Record<Compression, string> = { zstd: '.tar.zst', gzip: '.tar.gz', none: '.tar' };
const idPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export class SnapshotStore {
  constructor(readonly dir: string = defaultStoreDir) {}

  /** Creates the folder, and tightens it to 0700 if someone loosened it. */
  ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if ((statSync(this.dir).mode & 0o777) !== 0o700) chmodSync(this.dir, 0o700);
  }

  newId(container: string, now = new Date()): string {
    return `${container}-${timestamp(now)}-${randomBytes(2).toString('hex')}`;
  }

  archiveName(id: string, compression: Compression): string {
    return `${id}${extensionFor[compression]}`;
  }

  archivePath(meta: Pick<SnapshotMeta, 'archive'>): string {
    return join(this.dir, meta.archive);
  }

  partPath(id: string): string {
    return join(this.dir, `${id}.part`);
  }

  /** Moves a finished download into place and writes its metadata: the snapshot now exists. */
  commit(partPath: string, meta: SnapshotMeta): SnapshotMeta {
    this.ensure();
    chmodSync(partPath, 0o600);
    renameSync(partPath, this.archivePath(meta));
    writeFileSync(join(this.dir, `${meta.id}.json`), JSON.stringify(meta, null, 2) + '\n', { mode: 0o600 });
    return meta;
  }

  list(): SnapshotMeta[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((name) => name.endsWith('.json'))
      .flatMap((name) => {
        try {
          const meta = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as SnapshotMeta;
          return existsSync(this.archivePath(meta)) ? [meta] : [];
        } catch {
          return [];
        }
      })
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** A snapshot by id, or by a prefix that names exactly one. */
  get(idOrPrefix: string): SnapshotMeta {
    if (!idPattern.test(idOrPrefix)) throw new SnapdebugError(`"${idOrPrefix}" is not a snapshot id.`);
    const all = this.list();
    const exact = all.find((m) => m.id === idOrPrefix);
    if (exact) return exact;
    const matches = all.filter((m) => m.id.startsWith(idOrPrefix));
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) throw new SnapdebugError(`There is no snapshot "${idOrPrefix}" in ${this.dir}.`, { fix: 'Use the id of a snapshot the store lists.' });
    throw new SnapdebugError(`"${idOrPrefix}" names ${matches.length} snapshots: ${matches.map((m) => m.id).join(', ')}.`);
  }

  remove(id: string): void {
    const meta = this.get(id);
    rmSync(this.archivePath(meta), { force: true });
    rmSync(join(this.dir, `${meta.id}.json`), { force: true });
    rmSync(this.partPath(meta.id), { force: true });
  }

  /** Leftover `.part` files (from a crash; a cancel removes its own). */
  partFiles(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).filter((n) => n.endsWith('.part'));
  }

}
