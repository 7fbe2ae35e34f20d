// The schema of a snapshot's metadata file. The store acts on these files (deletes archives,
// sends them to hosts, names containers and volumes after them), so every field it uses is
// checked, and the archive must be the snapshot's own file: `<id>.tar.zst` beside `<id>.json`,
// never a path of the file's choosing. zod/mini, as podman/schemas.ts: functions, not methods.
import * as z from 'zod/mini';
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

const id = z.string().check(z.maxLength(255, 'longer than an id ever is'), z.regex(snapshotIdPattern, 'not a snapshot id'));
const count = z.int().check(z.nonnegative('negative'));
const compression = z.enum(['zstd', 'gzip', 'none']);
const host = z.string().check(z.refine((h) => h === 'local' || passes(parseHostSpec)(h), 'not a host name'));
const checked = (check: (value: string) => unknown, what: string) => z.string().check(z.refine(passes(check), what));
const absolutePath = z.string().check(z.maxLength(4096, 'longer than a path'), z.regex(/^\/[^\0]*$/, 'not an absolute path'));

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
  compress: z.optional(compression),
  tcpEstablished: z.optional(z.boolean()),
  fileLocks: z.optional(z.boolean()),
  ignoreRootfs: z.optional(z.boolean()),
  ignoreVolumes: z.optional(z.boolean()),
  preCheckpoint: z.optional(z.boolean()),
  withPrevious: z.optional(z.boolean()),
  keep: z.optional(z.boolean()),
  printStats: z.optional(z.boolean()),
});

export const snapshotMetaSchema = z
  .object({
    id,
    kind: z.enum(['checkpoint', 'pre-checkpoint']),
    createdAt: z.string().check(z.refine((t) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(t) && !Number.isNaN(Date.parse(t)), 'not an ISO time')),
    source: z.object({
      host,
      container: checked(validateContainerRef, 'not a container name'),
      containerId: z.optional(z.string().check(z.regex(/^[0-9a-f]{12,64}$/, 'not a container id'))),
      image: z.optional(checked(validateImageRef, 'not an image reference')),
      imageId: z.optional(z.string().check(z.regex(/^[0-9a-f]{12,64}$/, 'not an image id'))),
      ports: z.optional(z.array(z.string().check(z.regex(/^\d{1,5}\/(tcp|udp|sctp)$/, 'not a port like 8080/tcp')))),
      volumes: z.optional(z.array(checked(validateVolumeName, 'not a volume name'))),
      mounts: z.optional(z.array(z.object({ type: z.enum(['bind', 'volume']), source: absolutePath, destination: absolutePath, rw: z.boolean() }))),
      // A runtime's name (runc, crun), asked of the target's podman before a restore (runtime.ts).
      runtime: z.optional(z.string().check(z.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.+-]{0,63}$/, 'not a runtime name'))),
    }),
    podmanVersion: z.string().check(z.maxLength(64, 'longer than a version')),
    cgroupVersion: z.optional(z.enum(['v1', 'v2'])),
    criuVersion: z.optional(z.string().check(z.maxLength(64, 'longer than a version'))),
    options: checkpointOptions,
    compression,
    archive: z.string(),
    size: count,
    sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'not a sha256')),
    criu: z.optional(criuStats),
    sourceLeftRunning: z.boolean(),
    parent: z.optional(id),
    timings: z.object({ checkpointMs: z.number().check(z.nonnegative('negative')), totalMs: z.number().check(z.nonnegative('negative')) }),
  })
  .check(z.refine((m) => m.archive === `${m.id}${archiveExtensions[m.compression]}`, { message: "must be the snapshot's own file, <id> plus the extension of its compression", path: ['archive'] })) satisfies z.ZodMiniType<SnapshotMeta>;

/** One line for a schema issue: zod/mini carries no English, so the words are ours. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const field = issue.path.join('.') || 'the document';
  // Type and value issues are worded here whatever zod's locale says (another module may load
  // zod's English, which turns "Invalid input" into a sentence of its own).
  if (issue.code === 'invalid_type') {
    const value = issue.path.reduce<unknown>((at, key) => (at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined), input);
    return value === undefined ? `${field} is missing` : `${field}: not ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
  }
  if (issue.code === 'invalid_value') return `${field}: not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'custom' || !issue.message.startsWith('Invalid input')) return `${field}: ${issue.message}`;
  return `${field}: ${issue.code.replace(/_/g, ' ')}`;
}

/** The metadata in one file, or one line saying what is wrong with it. */
export function parseSnapshotMeta(text: string, fileName: string): { meta: SnapshotMeta } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  const parsed = snapshotMetaSchema.safeParse(json);
  if (!parsed.success) return { problem: describeIssue(parsed.error.issues[0]!, json) };
  if (`${parsed.data.id}.json` !== fileName) return { problem: `its id ${parsed.data.id} is not its file name` };
  return { meta: parsed.data };
}
