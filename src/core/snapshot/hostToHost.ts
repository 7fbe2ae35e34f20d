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
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeDumpStats, type CriuDumpStats } from '../archive/criuStats';
import { approveCopy, pathProbe } from '../archive/copyPolicy';
import { DumpRewriter, entryRewrites, type CopyRewrite, type DumpRewriterOptions } from '../archive/relabel';
import { volumeLinkEntries } from '../archive/volumeLinks';
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
import { authorizeScript, fetchScript, followedCheckpointScript, keygenScript, prepareSourceScript } from './hostToHostScripts';
import type { PushedArchive } from './push';
import { storeFromSource } from './storeAfterward';
import type { SnapshotMeta } from './store';

/** The one-time key's life on the source, should nothing remove it sooner. */
const keyLifetimeMs = 15 * 60 * 1000;
/** What this machine reads of the archive to relabel it: config.dump and spec.dump lie at its start. */
const headBytes = 512 * 1024;
const tarBlockBytes = 512;
const progressPollMs = 1000;

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
  // The copy's own volumes: their entries come at the archive's end, reached through links (archive/volumeLinks.ts).
  return rewrite.volumes ? Buffer.concat([body, volumeLinkEntries(rewrite.volumes, Math.floor(Date.now() / 1000))]) : body;
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

/** The source's side of a host-to-host checkpoint, made ready while the target is planned. */
export interface PreparedSource {
  request: { host: string; before: InspectEntry; options: CheckpointOptions };
  archive: SourceArchive;
  /** The checkpoint images go with the work (a snapshot of a container that keeps running). */
  dropsImages: boolean;
  /** When preparing began: a snapshot's total time counts from there. */
  preparedAtMs: number;
}

/**
 * Begins the source's work for a host-to-host checkpoint and creates its (empty) archive file:
 * podman's zstd when both hosts have zstd (the target unpacks it as it arrives: a compressible
 * heap crossed the hosts' link six times larger as a plain tar), never against an explicit
 * --compress none. Whoever prepares it hands it to checkpointHostToHost or abandons its work.
 */
export async function prepareHostToHost(core: Core, request: PreparedSource['request'], targetHost: Host, signal?: AbortSignal): Promise<PreparedSource> {
  const source = core.hosts.get(request.host);
  const preparedAtMs = Date.now();
  const zstdOnBoth = async () => (await Promise.all([whichOnHost(source, 'zstd'), whichOnHost(targetHost, 'zstd')])).every((path) => path !== undefined);
  const [hasZstd, work] = await Promise.all([zstdOnBoth(), source.beginWork(`checkpoint ${request.before.Name} for ${targetHost.name}`, signal)]);
  try {
    const compression = request.options.compress !== 'none' && hasZstd ? 'zstd' : 'none';
    const options: CheckpointOptions = { ...request.options, compress: compression };
    // Checkpoint images go with the work unless they are what a stopped container restores from.
    const dropsImages = options.leaveRunning === true && !options.keep;
    const archive: SourceArchive = { work, path: work.file(compression === 'zstd' ? 'archive.tar.zst' : 'archive.tar'), compression };
    const fileName = archive.path.slice(work.dir.length + 1);
    const [created] = await Promise.all([
      source.runner.run(source.script(prepareSourceScript, [work.dir, fileName])),
      dropsImages ? work.willUndo({ kind: 'images', containerId: request.before.Id }) : undefined,
    ]);
    if (created.exitCode !== 0) throw new SnapdebugError(`Cannot create ${archive.path} on ${request.host}.`, { detail: created.stderr });
    return { request: { ...request, options }, archive, dropsImages, preparedAtMs };
  } catch (error) {
    await work.abandon(core.log);
    throw error;
  }
}

/**
 * The source's side of a host-to-host checkpoint, as the workflows hold it: begun only once the
 * target has passed its checks (from a restore plan's routeFrom), then either taken by
 * checkpointHostToHost (which abandons it on any failure) or dropped (through this machine, or a
 * failure first).
 */
export class SourceSide {
  private preparing: Promise<PreparedSource> | undefined;

  constructor(
    private readonly core: Core,
    private readonly request: PreparedSource['request'],
    private readonly target: Host,
    private readonly signal?: AbortSignal,
  ) {}

  begin(): void {
    this.preparing = prepareHostToHost(this.core, this.request, this.target, this.signal);
    this.preparing.catch(() => undefined); // its failure is the taker's to see
  }

  get begun(): boolean {
    return this.preparing !== undefined;
  }

  /** The prepared side, no longer this one's to drop; throws what preparing it threw. */
  take(): Promise<PreparedSource> {
    const preparing = this.preparing;
    if (!preparing) throw new Error('The source side was never begun.');
    this.preparing = undefined;
    return preparing;
  }

  /** Abandons what was prepared and not taken (nothing, when preparing failed: it undid itself). */
  async drop(): Promise<string[] | undefined> {
    const preparing = this.preparing;
    this.preparing = undefined;
    return (await preparing?.catch(() => undefined))?.archive.work.abandon(this.core.log);
  }
}

/**
 * Checkpoints on the source into the prepared archive, and has the target host fetch it into
 * `target` (its work folder: archive.tar, a plain tar), relabelled when `rewriteFor` gives a
 * rewrite. The source's work stays until `storing()` or `abandon()`; the one-time key is gone
 * before this returns, in every outcome.
 */
export async function checkpointHostToHost(
  core: Core,
  prepared: PreparedSource,
  target: {
    work: RemoteWork;
    rewriteFor?: (id: string) => CopyRewrite | undefined;
    /** Keep the archive as podman wrote it (compressed, the snapshot's own sha256), not unpacked to restore. */
    asWritten?: boolean;
  },
  link: SourceLink,
  control: WorkControl = {},
): Promise<HostToHostResult> {
  const progress = control.progress ?? noProgress;
  const { request, archive, dropsImages } = prepared;
  const { options, before } = request;
  const source = core.hosts.get(request.host);
  const sw = archive.work;
  const id = core.store.newId(before.Name);
  const started = Date.now();
  // Until its key is dropped: a failure waits for the grant to settle, so no key is written after
  // the work's undo list was read.
  let granted: Promise<string> | undefined;
  try {
    const rewrite = target.rewriteFor?.(id);
    if (rewrite && target.asWritten) throw new SnapdebugError('An archive kept as written is not relabelled.');
    progress({ phase: 'checkpoint', message: `Checkpointing ${before.Name} on ${request.host}${options.leaveRunning ? ' (it keeps running)' : ''}` });
    // The one-time key is made and granted while podman checkpoints, and the target fetches the
    // archive as podman writes it (the serve script follows the file until podman is done): the
    // hosts' link starts as soon as the first bytes are out, not once the whole archive is.
    const checkpointing = core.locks.run(
      `checkpoint ${request.host}/${before.Name}`,
      () =>
        source.podman(podman.checkpoint(before.Name, options, archive.path), {
          wrap: (argv) => source.script(followedCheckpointScript, [sw.session.settings.remoteTempDir, sw.dir, before.Id, ...argv], 'snapdebug-checkpoint'),
        }),
      control.signal,
    );
    checkpointing.catch(() => undefined);
    granted = grantFetch(archive, target.work, link);
    granted.catch(() => undefined);
    const written = checkpointing.then(() => undefined);
    written.catch(() => undefined);
    const fetching = granted.then(() => fetchHostToHost(core, archive, { work: target.work, ...(rewrite && { rewrite }), ...(target.asWritten && { asWritten: true }) }, link, written, control));
    fetching.catch(() => undefined);
    try {
      await checkpointing;
    } catch (error) {
      await fetching.catch(() => undefined); // ended by podman's failure (fetchHostToHost)
      throw error;
    }
    const checkpointMs = Date.now() - started;
    const after = inspectOne(source, before.Name).catch(() => undefined);
    const imagesGone = dropsImages ? removeCheckpointImages(source, core.settings.remoteTempDir, before.Id, core.log) : Promise.resolve();
    imagesGone.catch(() => undefined);
    const [tag, fetched] = await Promise.all([granted, fetching]);
    // What is left is a round trip to each host: at once.
    const dropped = dropKey(source, tag).then(() => (granted = undefined));
    const [running, criu, caps] = await Promise.all([after, copyStats(target.work), source.capabilities(), dropped, imagesGone]);
    const meta: SnapshotMeta = {
      id,
      kind: 'checkpoint',
      createdAt: new Date().toISOString(),
      source: snapshotSource(request.host, before),
      podmanVersion: caps.podmanVersion,
      cgroupVersion: caps.info.host.cgroupVersion,
      ...(caps.criuVersion !== undefined && { criuVersion: caps.criuVersion }),
      options,
      compression: archive.compression,
      archive: core.store.archiveName(id, archive.compression),
      size: fetched.source.size,
      sha256: fetched.source.sha256,
      ...(criu && { criu }),
      sourceLeftRunning: running?.State.Running === true && running.State.Pid === before.State.Pid,
      timings: { checkpointMs, totalMs: Date.now() - prepared.preparedAtMs },
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
 * A one-time key pair on the target (in its work folder), authorised on the source to run the
 * work's serve script (the archive's bytes) and nothing else, from the target's addresses, until an expiry. The key's undo
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
  const expires = String(Math.floor((Date.now() + keyLifetimeMs) / 1000));
  const authorised = await source.runner.run(source.script(authorizeScript, [archive.work.dir, tag, expires, link.from, keyType, keyBlob]));
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
 * target.work's archive.tar over the hosts' own link as podman writes it (unpacked, unless kept as
 * written), relabelled when a rewrite is given, and compares what it received with what the source hashed (sha256) once
 * podman was done (`written`).
 */
async function fetchHostToHost(
  core: Core,
  archive: SourceArchive,
  target: { work: RemoteWork; rewrite?: CopyRewrite; asWritten?: boolean },
  link: SourceLink,
  written: Promise<void>,
  control: WorkControl,
): Promise<Fetched> {
  const progress = control.progress ?? noProgress;
  const source = archive.work.host;
  const to = target.work.host;
  // The source hashes its file once podman is done, while the rest of it travels.
  const sourceHash = written.then(() => source.runner.run(['sh', '-c', 'stat -c %s "$1" && sha256sum "$1"', 'sh', archive.path]));
  sourceHash.catch(() => undefined);
  const message = `${to.name} fetches the archive from ${source.name} directly`;
  // Bytes are shown once the checkpoint is done: until then its phase is the checkpoint's.
  let checkpointed = false;
  void written.then(() => ((checkpointed = true), progress({ phase: 'push', message, bytes: 0 })), () => undefined);
  const stop = new AbortController();
  const signal = control.signal ? AbortSignal.any([control.signal, stop.signal]) : stop.signal;
  // podman failed: what the target fetched is not an archive, and its fetch ends now.
  written.catch(() => stop.abort());
  const fetching = runFetch(target.work, link, target.asWritten ? 'none' : archive.compression, (bytes) => checkpointed && progress({ phase: 'push', message, bytes }), signal);
  fetching.catch(() => undefined);
  try {
    await writeHead(archive, target, signal);
  } catch (error) {
    stop.abort(); // the fetch would wait for a head that never comes
    await fetching.catch(() => undefined);
    throw error;
  }
  const fetched = await fetching;
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
 * spec.dump (they lie at the archive's start, the first bytes podman writes), read here as podman
 * writes them and relabelled; then how many of the archive's bytes it replaces (head.skip), which
 * the fetch waits for. No rewrite: an empty head, skipping nothing.
 */
async function writeHead(archive: SourceArchive, target: { work: RemoteWork; rewrite?: CopyRewrite }, signal?: AbortSignal): Promise<void> {
  const { rewrite, work } = target;
  if (!rewrite) return writeCopyHead(work, Buffer.alloc(0), 0);
  const source = archive.work.host;
  // The serve script follows the archive as it grows; head's exit ends the pipe.
  const unpack = archive.compression === 'zstd' ? ' | zstd -dc -q' : '';
  const text = await source.runner.run(['sh', '-c', `sh "$1/serve"${unpack} | head -c "$2" | base64 -w 0`, 'sh', archive.work.dir, String(headBytes)], { ...(signal && { signal }), killOnAbort: true });
  await relabelOnHost(work, rewrite, Buffer.from(text.stdout.trim(), 'base64'), `The archive on ${source.name}`, signal);
}

/** The first bytes of a plain archive that relabelOnHost reads: config.dump and spec.dump lie within. */
export const archiveHeadBytes = headBytes;

/**
 * Relabels the head of an archive (`original`: its first archiveHeadBytes, plain tar) for the copy
 * and writes it into `work` on its host as `head`, then `head.skip` (how many of the archive's
 * bytes it replaces). Approved by copyPolicy as every copy's dumps are. `what` names the archive.
 */
export async function relabelOnHost(work: RemoteWork, rewrite: CopyRewrite, original: Buffer, what: string, signal?: AbortSignal): Promise<void> {
  // Both dumps, whichever the rewrite changes: copyPolicy approves the copy from the two together.
  const end = headEnd(original, ['config.dump', 'spec.dump']);
  if (end === undefined) throw new SnapdebugError(`${what} does not start with config.dump and spec.dump: the copy's labels cannot be written into it on ${work.host.name}.`);
  const head = await relabelHead(original.subarray(0, end), rewrite, (dumps) => approveCopy(dumps, rewrite.original, pathProbe(work.host, signal)));
  await writeCopyHead(work, head, end);
}

async function writeCopyHead(work: RemoteWork, head: Buffer, skip: number): Promise<void> {
  const wrote = await work.host.runner.run(['sh', '-c', 'set -C; cat > "$1/head" && echo "$2" > "$1/head.new" && mv "$1/head.new" "$1/head.skip"', 'sh', work.dir, String(skip)], { stdin: head });
  if (wrote.exitCode !== 0) throw new SnapdebugError(`Cannot write the copy's labels on ${work.host.name}.`, { detail: wrote.stderr });
}

async function dropKey(source: Host, tag: string): Promise<void> {
  const result = await source.runner.run(source.script(`${prelude}${cleanupLib}drop_authkey "$1"`, [tag]));
  if (result.exitCode !== 0) throw new SnapdebugError(`Cannot remove the one-time key from ${source.name}.`, { detail: result.stderr });
}

async function runFetch(
  work: RemoteWork,
  link: SourceLink,
  compression: 'zstd' | 'none',
  onBytes: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<{ sourceSha256: string; copy: { bytes: number }; stderr: string }> {
  const host = work.host;
  // Progress: the copy's size, once a second. The fetch's end never waits for a poll in flight.
  const polling = new AbortController();
  void (async () => {
    while (!polling.signal.aborted) {
      await sleep(progressPollMs, undefined, { signal: polling.signal }).catch(() => undefined);
      if (polling.signal.aborted) return;
      const size = await host.runner.run(['stat', '-c', '%s', work.file('archive.tar')]).catch(() => undefined);
      if (!polling.signal.aborted && size?.exitCode === 0) onBytes(Number(size.stdout.trim()));
    }
  })();
  try {
    const result = await host.runner.run(host.script(fetchScript, [work.dir, link.address, String(link.port), link.user, link.keyType, compression]), { ...(signal && { signal }), killOnAbort: true });
    const line = (word: string) => result.stdout.split('\n').find((l) => l.startsWith(`${word} `))?.split(' ');
    const [, sourceSha256] = line('source') ?? [];
    const [, copyBytes] = line('copy') ?? [];
    if (result.exitCode !== 0 || !sourceSha256 || !/^[0-9a-f]{64}$/.test(sourceSha256) || !copyBytes) {
      throw new SnapdebugError(`${host.name} could not fetch the archive from the source host.`, { detail: result.stderr });
    }
    return { sourceSha256, copy: { bytes: Number(copyBytes) }, stderr: result.stderr };
  } finally {
    polling.abort();
  }
}
