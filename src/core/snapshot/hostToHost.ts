// Host to host: when the target host reaches the source host itself (hostLink.ts), the archive goes
// straight between them and never through this machine (docs/architecture.md, "Host to host") —
// Snapshot & Debug's copy and a migration alike. The target
// host pulls: a one-time key made in its work folder is authorised on the source for one forced
// `cat` of one file, from the debug host's addresses, until an expiry — an undo step of the
// source's work, so it goes in every outcome (finish, abandon, watchdog, sweep). The debug host
// trusts only the source key this machine verified. The copy's labels live in the archive's
// head (config.dump, spec.dump come first): this machine fetches that head, relabels it, and the
// debug host puts it in place of the original head as the rest streams past. The store gets
// the verified original afterwards, from the source's work, while the debugger is already
// attached (storeAfterward.ts).
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { decodeDumpStats, type CriuDumpStats } from '../archive/criuStats';
import { approveCopy, pathProbe } from '../archive/copyPolicy';
import { DumpRewriter, entryRewrites, type CopyRewrite, type DumpRewriterOptions } from '../archive/relabel';
import type { Core, WorkControl } from '../core';
import type { Host } from '../host';
import { whichOnHost } from '../debug/requirements';
import { podman } from '../podman/commands';
import type { CheckpointOptions } from '../podman/options';
import type { InspectEntry } from '../podman/schemas';
import { cleanupLib, prelude } from '../remote/shellLib';
import type { RemoteWork } from '../remote/work';
import { SnapdebugError } from '../util/errors';
import { noProgress } from '../util/progress';
import { inspectOne, snapshotSource } from './checkpoint';
import { removeCheckpointImages } from './checkpointImages';
import type { SourceLink } from './hostLink';
import { authorizeScript, fetchScript, keygenScript } from './hostToHostScripts';
import type { PushedArchive } from './push';
import { storeFromSource } from './storeAfterward';
import type { SnapshotMeta } from './store';

/** The one-time key's life on the source, should nothing remove it sooner. */
const keyLifetimeMs = 15 * 60 * 1000;
/** What this machine reads of the archive to relabel it: config.dump and spec.dump lie at its start. */
const headBytes = 512 * 1024;
const tarBlockBytes = 512;

/** Where the last of the named tar entries (with its padding) ends, if the head holds them all. */
export function headEnd(head: Buffer, names: readonly string[]): number | undefined {
  const wanted = new Set(names);
  let offset = 0;
  while (offset + tarBlockBytes <= head.length && wanted.size > 0) {
    const header = head.subarray(offset, offset + tarBlockBytes);
    if (header.every((b) => b === 0)) return undefined;
    const name = header.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '').replace(/^\.\//, '');
    const size = parseInt(header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0) return undefined;
    offset += tarBlockBytes + Math.ceil(size / tarBlockBytes) * tarBlockBytes;
    wanted.delete(name);
  }
  return wanted.size === 0 && offset <= head.length ? offset : undefined;
}

/**
 * The archive's head with the copy's labels (and annotations) in config.dump and spec.dump,
 * approved first as every copy's dumps are (copyPolicy.ts). The tar reader wants a whole archive:
 * the head gets an end-of-archive marker, which comes back unchanged and is cut off again.
 */
export async function relabelHead(head: Buffer, rewrite: CopyRewrite, approve: DumpRewriterOptions['approve']): Promise<Buffer> {
  const endMarker = Buffer.alloc(2 * tarBlockBytes);
  const rewriter = new DumpRewriter(entryRewrites(rewrite), {}, { ...(approve && { approve }) });
  const input = new PassThrough();
  const out: Buffer[] = [];
  rewriter.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise<void>((resolve, reject) => (rewriter.once('end', resolve), rewriter.once('error', reject)));
  input.pipe(rewriter);
  input.end(Buffer.concat([head, endMarker]));
  await done;
  if (!rewriter.complete) throw new SnapdebugError('The archive has no config.dump in its head: it is not a podman checkpoint archive.');
  const all = Buffer.concat(out);
  const body = all.subarray(0, all.length - endMarker.length);
  if (!all.subarray(body.length).equals(endMarker)) throw new SnapdebugError('The relabelled head of the archive does not end where it should.');
  return body;
}

export interface HostToHostResult {
  meta: SnapshotMeta;
  pushed: PushedArchive;
  /** The store's copy, pulled from the source's work; the source's work ends with it. */
  storing: (control?: WorkControl) => Promise<SnapshotMeta>;
  /** Ends the source's work without storing (a failure after the fetch, or nothing to keep). */
  abandon: () => Promise<string[] | undefined>;
}

/** An archive in a work folder on the source host, as the fetch needs to know it. */
export interface SourceArchive {
  work: RemoteWork;
  path: string;
  compression: 'zstd' | 'none';
}

/**
 * Checkpoints on the source into an archive in a work of its own (podman's zstd when both hosts
 * have zstd, else a plain tar), and has the target host fetch it into `target` (its work folder:
 * archive.tar, a plain tar), relabelled when `rewriteFor` gives a rewrite. The source's work stays
 * until `storing()` or `abandon()`; the one-time key is gone before this returns, in every outcome.
 */
export async function checkpointHostToHost(
  core: Core,
  request: { host: string; before: InspectEntry; options: CheckpointOptions },
  target: { work: RemoteWork; rewriteFor?: (id: string) => CopyRewrite | undefined },
  link: SourceLink,
  control: WorkControl = {},
): Promise<HostToHostResult> {
  const progress = control.progress ?? noProgress;
  const source = core.hosts.get(request.host);
  const { before } = request;
  const id = core.store.newId(before.Name);
  const rewrite = target.rewriteFor?.(id);
  if (rewrite?.volumes && Object.keys(rewrite.volumes).length > 0) throw new SnapdebugError('A copy that renames volumes is not sent host to host (chooseRoute sends it through this machine).');
  // podman's zstd when both hosts have zstd (the target unpacks it as it arrives): a
  // compressible heap crossed the hosts' link six times larger as a plain tar. Never against an
  // explicit --compress none.
  const zstdOnBoth = async () => (await Promise.all([whichOnHost(source, 'zstd'), whichOnHost(target.work.host, 'zstd')])).every((path) => path !== undefined);
  const started = Date.now();
  const [hasZstd, sw] = await Promise.all([zstdOnBoth(), source.beginWork(`checkpoint ${before.Name} for ${target.work.host.name}`, control.signal)]);
  const compression = request.options.compress !== 'none' && hasZstd ? 'zstd' : 'none';
  const options: CheckpointOptions = { ...request.options, compress: compression };
  // Checkpoint images go with the work unless they are what a stopped container restores from.
  const dropsImages = options.leaveRunning === true && !options.keep;
  const archive: SourceArchive = { work: sw, path: sw.file(compression === 'zstd' ? 'archive.tar.zst' : 'archive.tar'), compression };
  // Until its key is dropped: a failure waits for the grant to settle, so no key is written after
  // the work's undo list was read.
  let granted: Promise<string> | undefined;
  try {
    progress({ phase: 'checkpoint', message: `Checkpointing ${before.Name} on ${request.host}${options.leaveRunning ? ' (it keeps running)' : ''}` });
    if (dropsImages) await sw.willUndo({ kind: 'images', containerId: before.Id });
    const created = await source.runner.run(['sh', '-c', 'set -C; : > "$1"', 'sh', archive.path]);
    if (created.exitCode !== 0) throw new SnapdebugError(`Cannot create ${archive.path} on ${request.host}.`, { detail: created.stderr });
    // The one-time key is made and granted while podman writes the archive: round trips over a
    // slow link that would otherwise wait for the checkpoint. It reads only this file.
    granted = grantFetch(archive, target.work, link);
    granted.catch(() => undefined);
    await core.locks.run(`checkpoint ${request.host}/${before.Name}`, () => source.podman(podman.checkpoint(before.Name, options, archive.path)), control.signal);
    const checkpointMs = Date.now() - started;
    const tag = await granted;
    const after = inspectOne(source, before.Name).catch(() => undefined);
    const imagesGone = dropsImages ? removeCheckpointImages(source, before.Id, core.log) : Promise.resolve();
    imagesGone.catch(() => undefined);
    const fetched = await fetchHostToHost(core, archive, { work: target.work, ...(rewrite && { rewrite }) }, link, control);
    const stats = copyStats(target.work);
    await dropKey(source, tag);
    granted = undefined;
    await imagesGone;
    const [running, criu, caps] = await Promise.all([after, stats, source.capabilities()]);
    const meta: SnapshotMeta = {
      id,
      kind: 'checkpoint',
      createdAt: new Date().toISOString(),
      source: snapshotSource(request.host, before),
      podmanVersion: caps.podmanVersion,
      cgroupVersion: caps.info.host.cgroupVersion,
      ...(caps.criuVersion !== undefined && { criuVersion: caps.criuVersion }),
      options,
      compression,
      archive: core.store.archiveName(id, compression),
      size: fetched.source.size,
      sha256: fetched.source.sha256,
      ...(criu && { criu }),
      sourceLeftRunning: running?.State.Running === true && running.State.Pid === before.State.Pid,
      timings: { checkpointMs, totalMs: Date.now() - started },
    };
    const pushed: PushedArchive = { host: target.work.host, path: target.work.file('archive.tar'), bytes: fetched.copy.bytes };
    // Where the memory went, as a checkpoint and a push through here would have said it.
    const container = before.Name;
    core.store.audit.record({ action: 'checkpoint', host: request.host, container, snapshot: id, detail: `checkpoint, host to host to ${target.work.host.name}` });
    core.store.audit.record({ action: 'push', host: target.work.host.name, container, snapshot: id, detail: `${pushed.path} (fetched from ${request.host} host to host)` });
    const storing = (storeControl: WorkControl = control) => storeFromSource(core, archive, meta, storeControl);
    return { meta, pushed, storing, abandon: () => sw.abandon(core.log) };
  } catch (error) {
    const tag = await granted?.catch(() => undefined);
    if (tag) await dropKey(source, tag).catch(() => undefined);
    await sw.abandon(core.log);
    throw error;
  }
}

/** Tar seeks past the memory in a plain tar on disk: only the small stats image is read. */
const statsScript = `tar -xOf "$1" --wildcards --no-anchored stats-dump 2>/dev/null | head -c ${64 * 1024} | base64 -w 0`;

/**
 * CRIU's statistics (how long production was frozen) from the copy's archive on the target: the
 * store's own inspection comes only later. Untrusted bytes, decoded as every archive's are;
 * unreadable, they are simply not known.
 */
async function copyStats(work: RemoteWork): Promise<CriuDumpStats | undefined> {
  const result = await work.host.runner.run(['sh', '-c', statsScript, 'sh', work.file('archive.tar')]).catch(() => undefined);
  if (!result || result.exitCode !== 0 || result.stdout.trim() === '') return undefined;
  try {
    return decodeDumpStats(Buffer.from(result.stdout.trim(), 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * A one-time key pair on the target (in its work folder), authorised on the source to `cat` the
 * archive's file and nothing else, from the target's addresses, until an expiry. The key's undo
 * line is in the source work's list before the key is, so every way the work ends removes it.
 * Returns the key's tag.
 */
async function grantFetch(archive: SourceArchive, targetWork: RemoteWork, link: SourceLink): Promise<string> {
  const source = archive.work.host;
  const to = targetWork.host;
  const tag = `snapdebug-fetch-${randomBytes(6).toString('hex')}`;
  const publicKey = await to.runner.run(to.script(keygenScript, [targetWork.dir, tag]));
  const [keyType, keyBlob] = publicKey.stdout.trim().split(' ');
  if (publicKey.exitCode !== 0 || keyType !== 'ssh-ed25519' || !keyBlob) throw new SnapdebugError(`Cannot make a one-time key on ${to.name}.`, { detail: publicKey.stderr });
  const fileName = archive.path.slice(archive.work.dir.length + 1);
  const expires = String(Math.floor((Date.now() + keyLifetimeMs) / 1000));
  const authorised = await source.runner.run(source.script(authorizeScript, [archive.work.dir, fileName, tag, expires, link.from, keyType, keyBlob]));
  if (authorised.exitCode !== 0) throw new SnapdebugError(`Cannot authorise ${to.name}'s one-time key on ${source.name}.`, { detail: authorised.stderr });
  return tag;
}

interface Fetched {
  /** The source's file: its sha256 and size, read on the source. */
  source: { sha256: string; size: number };
  /** What the target wrote (relabelled, plain tar). */
  copy: { bytes: number };
}

/**
 * Has `target`'s host fetch the source's archive (with the key grantFetch authorised) into
 * target.work's archive.tar over the hosts' own link, relabelled when a rewrite is given, and
 * compares what it received with what the source hashed (sha256).
 */
async function fetchHostToHost(core: Core, archive: SourceArchive, target: { work: RemoteWork; rewrite?: CopyRewrite }, link: SourceLink, control: WorkControl): Promise<Fetched> {
  const progress = control.progress ?? noProgress;
  const source = archive.work.host;
  const to = target.work.host;
  // The source hashes its file while the target fetches it (only the comparison waits for both).
  const sourceHash = source.runner.run(['sh', '-c', 'stat -c %s "$1" && sha256sum "$1"', 'sh', archive.path]);
  sourceHash.catch(() => undefined);
  const skip = await writeHead(archive, target, control.signal);
  const message = `${to.name} fetches the archive from ${source.name} directly`;
  progress({ phase: 'push', message, bytes: 0 });
  const fetched = await runFetch(target.work, skip, link, archive.compression, (bytes) => progress({ phase: 'push', message, bytes }), control.signal);
  const hashed = await sourceHash;
  const [sizeText, sha256] = hashed.stdout.trim().split(/\s+/);
  if (hashed.exitCode !== 0 || !sha256) throw new SnapdebugError(`Cannot hash ${archive.path} on ${source.name}.`, { detail: hashed.stderr });
  if (fetched.sourceSha256 !== sha256) {
    throw new SnapdebugError(`The archive ${to.name} fetched from ${source.name} does not match the one written there (sha256).`, { detail: fetched.stderr });
  }
  core.log(`${to.name} fetched ${sizeText} bytes from ${source.name} host to host (sha256 ${sha256.slice(0, 12)}… verified)`);
  return { source: { sha256, size: Number(sizeText) }, copy: fetched.copy };
}

/**
 * Writes, on the target, the head that replaces the archive's own: the copy's config.dump and
 * spec.dump (they lie at the archive's start), relabelled here. No rewrite: an empty head.
 * Returns how many of the archive's bytes the head replaces.
 */
async function writeHead(archive: SourceArchive, target: { work: RemoteWork; rewrite?: CopyRewrite }, signal?: AbortSignal): Promise<number> {
  const { rewrite, work } = target;
  let head: Buffer = Buffer.alloc(0);
  let skip = 0;
  if (rewrite) {
    const source = archive.work.host;
    const readHead = archive.compression === 'zstd' ? 'zstd -dc -q -- "$2" | head -c "$1" | base64 -w 0' : 'head -c "$1" "$2" | base64 -w 0';
    const text = await source.runner.run(['sh', '-c', readHead, 'sh', String(headBytes), archive.path]);
    const original = Buffer.from(text.stdout.trim(), 'base64');
    const end = headEnd(original, Object.keys(entryRewrites(rewrite)));
    if (end === undefined) throw new SnapdebugError(`The archive on ${source.name} does not start with config.dump and spec.dump: it cannot be relabelled host to host.`);
    head = await relabelHead(original.subarray(0, end), rewrite, (dumps) => approveCopy(dumps, rewrite.original, pathProbe(work.host, signal)));
    skip = end;
  }
  const wrote = await work.host.runner.run(['sh', '-c', 'set -C; cat > "$1"', 'sh', work.file('head')], { stdin: head });
  if (wrote.exitCode !== 0) throw new SnapdebugError(`Cannot write the copy's labels on ${work.host.name}.`, { detail: wrote.stderr });
  return skip;
}

async function dropKey(source: Host, tag: string): Promise<void> {
  const result = await source.runner.run(source.script(`${prelude}${cleanupLib}drop_authkey "$1"`, [tag]));
  if (result.exitCode !== 0) throw new SnapdebugError(`Cannot remove the one-time key from ${source.name}.`, { detail: result.stderr });
}

async function runFetch(
  work: RemoteWork,
  skip: number,
  link: SourceLink,
  compression: 'zstd' | 'none',
  onBytes: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<{ sourceSha256: string; copy: { bytes: number }; stderr: string }> {
  const host = work.host;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      await new Promise((r) => setTimeout(r, 1000));
      const size = await host.runner.run(['stat', '-c', '%s', work.file('archive.tar')]).catch(() => undefined);
      if (polling && size?.exitCode === 0) onBytes(Number(size.stdout.trim()));
    }
  })();
  try {
    const result = await host.runner.run(host.script(fetchScript, [work.dir, String(skip), link.address, String(link.port), link.user, link.keyType, compression]), { ...(signal && { signal }), killOnAbort: true });
    const line = (word: string) => result.stdout.split('\n').find((l) => l.startsWith(`${word} `))?.split(' ');
    const [, sourceSha256] = line('source') ?? [];
    const [, copyBytes] = line('copy') ?? [];
    if (result.exitCode !== 0 || !sourceSha256 || !/^[0-9a-f]{64}$/.test(sourceSha256) || !copyBytes) {
      throw new SnapdebugError(`${host.name} could not fetch the archive from the source host.`, { detail: result.stderr });
    }
    return { sourceSha256, copy: { bytes: Number(copyBytes) }, stderr: result.stderr };
  } finally {
    polling = false;
    await poll;
  }
}
