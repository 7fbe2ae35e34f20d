// The schema of a snapshot's metadata file. The store acts on these files (deletes archives,
// sends them to hosts, names containers and volumes after them), so every field it uses is
// checked, and the archive must be the snapshot's own file: `<id>.tar.zst` beside `<id>.json`,
// never a path of the file's choosing.
import { z } from 'zod';
import { validateContainerRef, validateImageRef, validateVolumeName } from '../podman/names';
import { parseHostSpec } from '../ssh/sshConfig';
import type { SnapshotMeta } from './store';

export const snapshotIdPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const archiveExtensions = { zstd: '.tar.zst', gzip: '.tar.gz', none: '.tar' } as const;

function passes(check: (value: string) => unknown): (value: string) => boolean {
  return (value) => {
    try {
      check(value);
      return true;
    } catch {
      return false;
    }
  };
}

const id = z.string().max(255).regex(snapshotIdPattern, 'not a snapshot id');
const count = z.number().int().nonnegative();
const compression = z.enum(['zstd', 'gzip', 'none']);
const host = z.string().refine((h) => h === 'local' || passes(parseHostSpec)(h), 'not a host name');

const criuStats = z.object({
  freezingTimeUs: count,
  frozenTimeUs: count,
  memdumpTimeUs: count,
  memwriteTimeUs: count,
  pagesScanned: count,
  pagesSkippedParent: count,
  pagesWritten: count,
});

const checkpointOptions = z.object({
  leaveRunning: z.boolean(),
  compress: compression.optional(),
  tcpEstablished: z.boolean().optional(),
  fileLocks: z.boolean().optional(),
  ignoreRootfs: z.boolean().optional(),
  ignoreVolumes: z.boolean().optional(),
  preCheckpoint: z.boolean().optional(),
  withPrevious: z.boolean().optional(),
  keep: z.boolean().optional(),
  printStats: z.boolean().optional(),
});

export const snapshotMetaSchema = z
  .object({
    id,
    kind: z.enum(['checkpoint', 'pre-checkpoint']),
    createdAt: z.string().refine((t) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(t) && !Number.isNaN(Date.parse(t)), 'not an ISO time'),
    source: z.object({
      host,
      container: z.string().refine(passes(validateContainerRef), 'not a container name'),
      containerId: z.string().regex(/^[0-9a-f]{12,64}$/, 'not a container id').optional(),
      image: z.string().refine(passes(validateImageRef), 'not an image reference').optional(),
      imageId: z.string().regex(/^[0-9a-f]{12,64}$/, 'not an image id').optional(),
      ports: z.array(z.string().regex(/^\d{1,5}\/(tcp|udp|sctp)$/, 'not a port like 8080/tcp')).optional(),
      volumes: z.array(z.string().refine(passes(validateVolumeName), 'not a volume name')).optional(),
    }),
    podmanVersion: z.string().max(64),
    criuVersion: z.string().max(64).optional(),
    options: checkpointOptions,
    compression,
    archive: z.string(),
    size: count,
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'not a sha256'),
    criu: criuStats.optional(),
    sourceLeftRunning: z.boolean(),
    parent: id.optional(),
    timings: z.object({ checkpointMs: z.number().nonnegative(), totalMs: z.number().nonnegative() }),
  })
  .refine((m) => m.archive === `${m.id}${archiveExtensions[m.compression]}`, { message: 'must be the snapshot\'s own file, <id> plus the extension of its compression', path: ['archive'] }) satisfies z.ZodType<SnapshotMeta>;

/** The metadata in one file, or one line saying what is wrong with it. */
export function parseSnapshotMeta(text: string, fileName: string): { meta: SnapshotMeta } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  const parsed = snapshotMetaSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'the document';
    const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
    return { problem: missing ? `${field} is missing` : `${field}: ${issue.message}` };
  }
  if (`${parsed.data.id}.json` !== fileName) return { problem: `its id ${parsed.data.id} is not its file name` };
  return { meta: parsed.data };
}
