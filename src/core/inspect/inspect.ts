// `snapdebug inspect`: what a snapshot holds — its processes with their arguments, files, sockets
// and (only when asked) environment, the container's mounts and CRIU's statistics — from the
// archive alone, in one streaming pass. argv and the environment live in each process's memory,
// so the few pages that hold them are picked out as the pages images stream past.
import { decodeDumpStats } from '../archive/criuStats';
import { scanCheckpoint, type CheckpointImages, type PagesVisitor } from '../criu/checkpointImages';
import { RangeCollector, walkPages } from '../criu/pagemap';
import { buildProcesses, mmOf, pstree, stringRanges, type ProcessStrings } from './processes';
import type { CheckpointedContainer, MountInfo, SnapshotContents } from './model';

export interface InspectOptions {
  /** Read environment values (secrets): only on an explicit request. */
  env?: boolean;
  signal?: AbortSignal;
}

function json(buffer: Buffer | undefined): Record<string, unknown> | undefined {
  if (!buffer) return undefined;
  try {
    const value: unknown = JSON.parse(buffer.toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export function containerInfo(images: CheckpointImages): CheckpointedContainer {
  const config = json(images.metadata.get('config.dump')) ?? {};
  const info: CheckpointedContainer = {};
  const set = (key: keyof CheckpointedContainer, value: unknown) => {
    const v = text(value);
    if (v !== undefined) info[key] = v;
  };
  set('name', config['name']);
  set('id', config['id']);
  set('image', config['rootfsImageName'] ?? config['RawImageName']);
  set('runtime', config['runtime'] ?? config['OCIRuntime']);
  set('created', config['createdTime']);
  set('checkpointedAt', config['checkpointedTime']);
  return info;
}

export function mounts(images: CheckpointImages): MountInfo[] {
  const spec = json(images.metadata.get('spec.dump'));
  const list = Array.isArray(spec?.['mounts']) ? (spec['mounts'] as Array<Record<string, unknown>>) : [];
  return list.map((mount) => ({
    destination: text(mount['destination']) ?? '',
    type: text(mount['type']) ?? '',
    source: text(mount['source']) ?? '',
    options: Array.isArray(mount['options']) ? mount['options'].filter((o): o is string => typeof o === 'string') : [],
  }));
}

/** A pages visitor that keeps the bytes of each process's argv and environment. */
export function stringsCollector(strings: Map<number, ProcessStrings>): PagesVisitor {
  return async (pagesId, body, images) => {
    const map = images.pagemapForPages(pagesId);
    if (!map) return 'later';
    const mm = mmOf(images, map.pid);
    if (!mm) return 'skip';
    const collector = new RangeCollector(stringRanges(mm));
    await walkPages(map, body, collector.visit);
    strings.set(map.pid, { args: collector.bytes(0), env: collector.bytes(1) });
    return 'done';
  };
}

export async function inspectSnapshot(archivePath: string, options: InspectOptions = {}): Promise<SnapshotContents> {
  const strings = new Map<number, ProcessStrings>();
  const images = await scanCheckpoint(archivePath, { pages: stringsCollector(strings), ...(options.signal && { signal: options.signal }) });
  pstree(images); // fails clearly when the checkpoint names no processes
  const stats = images.metadata.get('stats-dump');
  const criu = stats ? decodeDumpStats(stats) : undefined;
  return {
    container: containerInfo(images),
    processes: buildProcesses(images, strings, { env: options.env === true }),
    mounts: mounts(images),
    stats: {
      ...(criu && { criu }),
      archiveBytes: images.entriesBytes,
      memoryBytes: [...images.pagesBytes.values()].reduce((a, b) => a + b, 0),
    },
  };
}
