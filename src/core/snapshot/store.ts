// The local store: one folder (0700) holding each snapshot as an archive (0600) with a JSON file
// of metadata beside it, and the audit log. Archives hold process memory, secrets included, so
// nothing here is ever readable by another user, and an unfinished download only ever exists as
// `.part`. Metadata is checked against a schema before anything acts on it; a file that fails is
// reported, one line each, and left alone.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Compression } from '../archive/checkpointArchive';
import type { RecordedMount } from '../archive/copyPolicy';
import type { CriuDumpStats } from '../archive/criuStats';
import type { CheckpointOptions } from '../podman/options';
import { AbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { AuditLog, auditFileName, type AuditOptions } from './audit';
import { archiveExtensions, describeIssue, parseSnapshotMeta, snapshotIdPattern, snapshotMetaSchema } from './storeSchema';

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
    /** Its bind mounts and volumes: a copy's archive may ask for no others (archive/copyPolicy.ts). */
    mounts?: RecordedMount[];
  };
  podmanVersion: string;
  /** The source host's cgroup version ("v1", "v2"): a checkpoint restores only on the same (runtime.ts). */
  cgroupVersion?: string;
  criuVersion?: string;
  options: CheckpointOptions;
  compression: Compression;
  /** Always `<id>` plus the compression's extension (the schema refuses anything else). */
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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A metadata file the store will not act on, and why (one line). */
export interface InvalidSnapshotFile {
  file: string;
  problem: string;
}

export const defaultStoreDir = join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'snapdebug', 'snapshots');

/** Metadata is a page of JSON; anything far larger is not ours and is not read. */
const maxMetadataBytes = 1024 * 1024;
const hashChunkBytes = 1024 * 1024;
const dayMs = 86_400_000;

/** Whether a snapshot was taken more than `days` days before `now` (0: never old). */
export function isOlderThan(meta: Pick<SnapshotMeta, 'createdAt'>, days: number, now = new Date()): boolean {
  return days > 0 && now.getTime() - Date.parse(meta.createdAt) > days * dayMs;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export class SnapshotStore {
  readonly audit: AuditLog;

  constructor(
    readonly dir: string = defaultStoreDir,
    options: AuditOptions = {},
  ) {
    this.audit = new AuditLog(join(dir, auditFileName), options);
  }

  /** Creates the folder, and tightens it to 0700 if someone loosened it. */
  ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if ((statSync(this.dir).mode & 0o777) !== 0o700) chmodSync(this.dir, 0o700);
  }

  newId(container: string, now = new Date()): string {
    return `${container}-${timestamp(now)}-${randomBytes(2).toString('hex')}`;
  }

  archiveName(id: string, compression: Compression): string {
    return `${id}${archiveExtensions[compression]}`;
  }

  /** The snapshot's own archive file, from its id: never a path the metadata chose. */
  archivePath(meta: Pick<SnapshotMeta, 'id' | 'compression'>): string {
    return join(this.dir, this.archiveName(meta.id, meta.compression));
  }

  /** Where core files made from a snapshot go (process memory: removed with the snapshot). */
  coresDir(id: string): string {
    if (!snapshotIdPattern.test(id)) throw new SnapdebugError(`"${id}" is not a snapshot id.`);
    return join(this.dir, 'cores', id);
  }

  /** Where a download lands until it is verified; it names this process, so a later start can tell it was abandoned. */
  partPath(id: string): string {
    return join(this.dir, `${id}.${process.pid}.part`);
  }

  /**
   * Moves a finished download into place and writes its metadata: the snapshot now exists.
   * `audited`: its checkpoint is in the audit log already (host to host, it was taken before it came here).
   */
  commit(partPath: string, meta: SnapshotMeta, audited = false): SnapshotMeta {
    const checked = snapshotMetaSchema.safeParse(meta);
    if (!checked.success) throw new SnapdebugError(`Refusing to store ${meta.id}: its metadata is not valid (${describeIssue(checked.error.issues[0]!, meta)}).`);
    this.ensure();
    chmodSync(partPath, 0o600);
    renameSync(partPath, this.archivePath(meta));
    writeFileSync(join(this.dir, `${meta.id}.json`), JSON.stringify(meta, null, 2) + '\n', { mode: 0o600 });
    if (!audited) this.audit.record({ action: 'checkpoint', host: meta.source.host, container: meta.source.container, snapshot: meta.id, detail: meta.kind });
    return meta;
  }

  /** Every metadata file: the valid snapshots (newest first) and, one line each, the files that are not. */
  scan(): { snapshots: SnapshotMeta[]; invalid: InvalidSnapshotFile[] } {
    if (!existsSync(this.dir)) return { snapshots: [], invalid: [] };
    const snapshots: SnapshotMeta[] = [];
    const invalid: InvalidSnapshotFile[] = [];
    for (const name of readdirSync(this.dir).filter((n) => n.endsWith('.json')).sort()) {
      const problem = (text: string) => invalid.push({ file: join(this.dir, name), problem: text });
      const stat = lstatSync(join(this.dir, name));
      if (!stat.isFile()) {
        problem('not a regular file');
        continue;
      }
      if (stat.size > maxMetadataBytes) {
        problem(`${stat.size} bytes, far more than metadata ever is`);
        continue;
      }
      const parsed = parseSnapshotMeta(readFileSync(join(this.dir, name), 'utf8'), name);
      if ('problem' in parsed) {
        problem(parsed.problem);
        continue;
      }
      const archive = this.archivePath(parsed.meta);
      const archiveStat = existsSync(archive) ? lstatSync(archive) : undefined;
      if (!archiveStat) problem(`its archive ${parsed.meta.archive} is missing`);
      else if (!archiveStat.isFile()) problem(`its archive ${parsed.meta.archive} is not a regular file`);
      else if (archiveStat.size !== parsed.meta.size) problem(`its archive has ${archiveStat.size} bytes, the metadata says ${parsed.meta.size}`);
      else snapshots.push(parsed.meta);
    }
    return { snapshots: snapshots.sort((a, b) => b.createdAt.localeCompare(a.createdAt)), invalid };
  }

  list(): SnapshotMeta[] {
    return this.scan().snapshots;
  }

  /** A snapshot by id, or by a prefix that names exactly one. Invalid metadata is never returned. */
  get(idOrPrefix: string): SnapshotMeta {
    if (!snapshotIdPattern.test(idOrPrefix)) throw new SnapdebugError(`"${idOrPrefix}" is not a snapshot id.`);
    const { snapshots: all, invalid } = this.scan();
    const exact = all.find((m) => m.id === idOrPrefix);
    if (exact) return exact;
    const matches = all.filter((m) => m.id.startsWith(idOrPrefix));
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) {
      const bad = invalid.find((f) => f.file === join(this.dir, `${idOrPrefix}.json`));
      if (bad) throw new SnapdebugError(`The metadata of ${idOrPrefix} is not valid (${bad.problem}); snapdebug leaves it and its archive alone.`, { fix: `Look at ${bad.file}, and remove it by hand if it is not yours.` });
      throw new SnapdebugError(`There is no snapshot "${idOrPrefix}" in ${this.dir}.`, { fix: 'Use the id of a snapshot the store lists.' });
    }
    throw new SnapdebugError(`"${idOrPrefix}" names ${matches.length} snapshots: ${matches.map((m) => m.id).join(', ')}.`);
  }

  remove(id: string): void {
    const meta = this.get(id);
    rmSync(this.archivePath(meta), { force: true });
    rmSync(join(this.dir, `${meta.id}.json`), { force: true });
    for (const part of this.partFiles().filter((name) => name.startsWith(`${meta.id}.`))) rmSync(join(this.dir, part), { force: true });
    // What was taken from its copies (artifacts.ts): heap snapshots and dumps hold memory too.
    rmSync(join(this.dir, `${meta.id}.d`), { recursive: true, force: true });
    rmSync(this.coresDir(meta.id), { recursive: true, force: true });
    this.audit.record({ action: 'delete', host: meta.source.host, container: meta.source.container, snapshot: meta.id });
  }

  /** Snapshots taken more than `days` days before `now` (0: none), oldest first. */
  olderThan(days: number, now = new Date()): SnapshotMeta[] {
    return this.list()
      .filter((m) => isOlderThan(m, days, now))
      .reverse();
  }

  /**
   * The archive, read once to check its sha256 against the metadata, then handed out from the
   * same open file: a replaced or damaged archive is refused before any byte of it is sent.
   */
  async openVerified(meta: SnapshotMeta, signal?: AbortSignal, onBytes?: (bytes: number) => void): Promise<Readable> {
    let file: FileHandle;
    try {
      file = await open(this.archivePath(meta), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      throw new SnapdebugError(`The archive of ${meta.id} cannot be opened: ${(error as Error).message}`);
    }
    try {
      const hash = createHash('sha256');
      const buffer = Buffer.alloc(hashChunkBytes);
      let bytes = 0;
      for (;;) {
        if (signal?.aborted) throw new AbortError();
        const { bytesRead } = await file.read(buffer, 0, buffer.length, bytes);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        bytes += bytesRead;
        onBytes?.(bytes);
      }
      const sha256 = hash.digest('hex');
      if (bytes !== meta.size || sha256 !== meta.sha256) {
        throw new SnapdebugError(`The archive of ${meta.id} in the store is not the one checkpointed: its sha256 is ${sha256.slice(0, 12)}… (${bytes} bytes), the metadata says ${meta.sha256.slice(0, 12)}… (${meta.size} bytes). It was replaced or damaged; nothing was sent.`, {
          fix: `Delete ${meta.id} from the store and take a new snapshot.`,
        });
      }
    } catch (error) {
      await file.close();
      throw error;
    }
    // The same open file, from its start: the stream closes it when done or destroyed.
    return file.createReadStream({ start: 0, autoClose: true, highWaterMark: hashChunkBytes });
  }

  /**
   * Leftover `.part` files (from a crash; a cancel removes its own), by path under the store:
   * downloads, and files being taken from copies (`SNAPSHOT.d/NAME.PID.part`, artifacts.ts).
   */
  partFiles(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir, { withFileTypes: true }).flatMap((entry) => {
      if (entry.isFile() && entry.name.endsWith('.part')) return [entry.name];
      if (!entry.isDirectory() || !entry.name.endsWith('.d')) return [];
      return readdirSync(join(this.dir, entry.name)).filter((n) => n.endsWith('.part')).map((n) => `${entry.name}/${n}`);
    });
  }

  /**
   * Removes the `.part` files (downloads, and files taken from copies) whose process is gone
   * (killed, crashed, a window closed): process memory nobody will finish. Returns their names. A
   * streamed checkpoint cannot resume, a pull's source on the host was undone when its session
   * ended, and a heap snapshot or dump is taken again from the copy, so none can resume.
   */
  sweepParts(): string[] {
    const removed: string[] = [];
    for (const name of this.partFiles()) {
      const pid = Number(/\.(\d+)\.part$/.exec(name)?.[1]);
      if (pid === process.pid || (pid > 0 && processAlive(pid))) continue;
      rmSync(join(this.dir, name), { force: true });
      removed.push(name);
    }
    return removed;
  }

}
