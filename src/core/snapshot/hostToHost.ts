// Host to host: when the debug host reaches the source host itself, the archive goes straight
// between them and never through this machine (docs/architecture.md, "Host to host"). The debug
// host pulls: a one-time key made in its work folder is authorised on the source for one forced
// `cat` of one file, from the debug host's addresses, until an expiry — an undo step of the
// source's work, so it goes in every outcome (finish, abandon, watchdog, sweep). The debug host
// trusts only the source key this machine verified. The copy's labels live in the archive's
// head (config.dump, spec.dump come first): this machine fetches that head, relabels it, and the
// debug host puts it in place of the original head as the rest streams past. The store gets
// the verified original afterwards, from the source's work, while the debugger is already attached.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { inspectArchiveFile } from '../archive/checkpointArchive';
import { approveCopy, pathProbe } from '../archive/copyPolicy';
import { DumpRewriter, entryRewrites, type CopyRewrite, type DumpRewriterOptions } from '../archive/relabel';
import type { Core, WorkControl } from '../core';
import type { Host } from '../host';
import { podman } from '../podman/commands';
import type { CheckpointOptions } from '../podman/options';
import type { InspectEntry } from '../podman/schemas';
import { cleanupLib, prelude } from '../remote/shellLib';
import type { RemoteWork } from '../remote/work';
import { keyTypeOf } from '../ssh/knownHosts';
import { SnapdebugError } from '../util/errors';
import { noProgress } from '../util/progress';
import { snapshotSource } from './checkpoint';
import { removeCheckpointImages } from './checkpointImages';
import { authorizeScript, fetchScript, keygenScript, probeScript } from './hostToHostScripts';
import { pullFile } from './pull';
import type { PushedArchive } from './push';
import type { SnapshotMeta } from './store';

/** How the debug host reaches the source: checked by probeSourceLink. */
export interface SourceLink {
  address: string;
  port: number;
  user: string;
  keyType: string;
  key: string;
  /** The debug host's own addresses: the only ones the one-time key is good from. */
  from: string;
}

/** The one-time key's life on the source, should nothing remove it sooner. */
const keyLifetimeMs = 15 * 60 * 1000;
/** What this machine reads of the archive to relabel it: config.dump and spec.dump lie at its start. */
const headBytes = 512 * 1024;
const tarBlockBytes = 512;

/** Whether `target` reaches `source` with the key this machine verified, and why not when not. */
export async function probeSourceLink(source: Host, work: RemoteWork): Promise<{ link: SourceLink } | { reason: string }> {
  const key = source.runner.hostKey?.();
  if (!key) return { reason: `${source.name} is not reached over SSH from here` };
  const facts = await source.runner.run(['sh', '-c', 'hostname; id -un']);
  const [name, user] = facts.stdout.trim().split('\n');
  if (facts.exitCode !== 0 || !name || !user) return { reason: `${source.name} did not say its host name` };
  const keyType = keyTypeOf(key);
  const port = 22;
  const probe = await work.host.runner.run(work.host.script(probeScript, [work.dir, name, String(port), user, keyType, key.toString('base64')]));
  const said = (word: string) => probe.stdout.split('\n').find((l) => l.startsWith(`${word} `))?.slice(word.length + 1).trim();
  const verdict = said('verdict') ?? `failed (${probe.stderr.trim() || `exit ${probe.exitCode}`})`;
  const where = `${work.host.name} → ${source.name} (${name}${said('address') ? ` at ${said('address')}` : ''})`;
  if (verdict !== 'ok') {
    const why: Record<string, string> = {
      'no-ssh': `${work.host.name} has no ssh client`,
      'no-name': `${work.host.name} cannot resolve ${name}`,
      'wrong-key': `${where} shows another host key than the one verified from here`,
    };
    return { reason: why[verdict] ?? `${where}: ${verdict.replace(/^unreachable ?/, 'unreachable ')}`.trim() };
  }
  const address = said('address')!;
  const from = said('from') ?? '';
  if (!/^[0-9a-fA-F.:,]+$/.test(from)) return { reason: `${work.host.name} did not list its own addresses` };
  return { link: { address, port, user, keyType, key: key.toString('base64'), from } };
}

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
  /** The store's copy, pulled from the source's work after the copy is made; the source's work ends with it. */
  storing: () => Promise<SnapshotMeta>;
  /** Undoes the source's work now (a failure after the fetch, before `storing` runs). */
  abandon: () => Promise<string[] | undefined>;
}

/**
 * Checkpoints on the source into an archive in its work (podman's zstd when both hosts have
 * zstd, else a plain tar), and has the debug host fetch it into
 * `target` (its work folder: archive.tar) relabelled. The source's work stays until `storing()`
 * or `abandon()`; the one-time key is gone before this returns, in every outcome.
 */
export async function checkpointHostToHost(
  core: Core,
  request: { host: string; before: InspectEntry; options: CheckpointOptions },
  target: { work: RemoteWork; rewriteFor: (id: string) => CopyRewrite },
  link: SourceLink,
  control: WorkControl = {},
): Promise<HostToHostResult> {
  const progress = control.progress ?? noProgress;
  const source = core.hosts.get(request.host);
  const { before } = request;
  const id = core.store.newId(before.Name);
  const rewrite = target.rewriteFor(id);
  if (rewrite.volumes && Object.keys(rewrite.volumes).length > 0) throw new SnapdebugError('A copy that renames volumes is not sent host to host yet.');
  // podman's zstd when both hosts have zstd (the debug host unpacks it as it arrives): a
  // compressible heap crossed the hosts' link six times larger as a plain tar. Never against an
  // explicit --compress none.
  const compression = request.options.compress !== 'none' && (await bothHaveZstd(source, target.work.host)) ? 'zstd' : 'none';
  const options: CheckpointOptions = { ...request.options, compress: compression };
  const started = Date.now();
  const sw = await source.beginWork(`checkpoint ${before.Name} for ${target.work.host.name}`, control.signal);
  const fileName = compression === 'zstd' ? 'archive.tar.zst' : 'archive.tar';
  const remotePath = sw.file(fileName);
  const tag = `snapdebug-fetch-${randomBytes(6).toString('hex')}`;
  let keyAuthorised = false;
  try {
    progress({ phase: 'checkpoint', message: `Checkpointing ${before.Name} on ${request.host} (it keeps running)` });
    await sw.willUndo({ kind: 'images', containerId: before.Id });
    const created = await source.runner.run(['sh', '-c', 'set -C; : > "$1"', 'sh', remotePath]);
    if (created.exitCode !== 0) throw new SnapdebugError(`Cannot create ${remotePath} on ${request.host}.`, { detail: created.stderr });
    await core.locks.run(`checkpoint ${request.host}/${before.Name}`, () => source.podman(podman.checkpoint(before.Name, options, remotePath)), control.signal);
    const checkpointMs = Date.now() - started;
    await removeCheckpointImages(source, before.Id, core.log);

    // The head, relabelled here; the debug host's key pair meanwhile. The source hashes its file
    // while the debug host fetches it (only the comparison waits for both).
    const sourceHash = source.runner.run(['sh', '-c', 'stat -c %s "$1" && sha256sum "$1"', 'sh', remotePath]);
    sourceHash.catch(() => undefined);
    const readHead = compression === 'zstd' ? 'zstd -dc -q -- "$2" | head -c "$1" | base64 -w 0' : 'head -c "$1" "$2" | base64 -w 0';
    const [headText, publicKey] = await Promise.all([
      source.runner.run(['sh', '-c', readHead, 'sh', String(headBytes), remotePath]),
      target.work.host.runner.run(target.work.host.script(keygenScript, [target.work.dir, tag])),
    ]);
    const head = Buffer.from(headText.stdout.trim(), 'base64');
    const skip = headEnd(head, Object.keys(entryRewrites(rewrite)));
    if (skip === undefined) throw new SnapdebugError(`The archive of ${before.Name} does not start with config.dump and spec.dump: it cannot be relabelled host to host.`);
    const newHead = await relabelHead(head.subarray(0, skip), rewrite, (dumps) => approveCopy(dumps, rewrite.original, pathProbe(target.work.host, control.signal)));
    const wroteHead = await target.work.host.runner.run(['sh', '-c', 'set -C; cat > "$1"', 'sh', target.work.file('head')], { stdin: newHead });
    const [keyType, keyBlob] = publicKey.stdout.trim().split(' ');
    if (publicKey.exitCode !== 0 || keyType !== 'ssh-ed25519' || !keyBlob) throw new SnapdebugError(`Cannot make a one-time key on ${target.work.host.name}.`, { detail: publicKey.stderr });
    if (wroteHead.exitCode !== 0) throw new SnapdebugError(`Cannot write the copy's labels on ${target.work.host.name}.`, { detail: wroteHead.stderr });

    const authorised = await source.runner.run(source.script(authorizeScript, [sw.dir, fileName, tag, String(Math.floor((Date.now() + keyLifetimeMs) / 1000)), link.from, keyType, keyBlob]));
    keyAuthorised = true;
    if (authorised.exitCode !== 0) throw new SnapdebugError(`Cannot authorise ${target.work.host.name}'s one-time key on ${request.host}.`, { detail: authorised.stderr });

    progress({ phase: 'push', message: `${target.work.host.name} fetches the archive from ${request.host} directly`, bytes: 0 });
    const fetched = await fetchWithProgress(target.work, skip, link, compression, (bytes) => progress({ phase: 'push', message: `${target.work.host.name} fetches the archive from ${request.host} directly`, bytes }), control.signal);
    await dropKey(source, tag);
    keyAuthorised = false;
    const hashed = await sourceHash;
    const [sizeText, expectedSha] = hashed.stdout.trim().split(/\s+/);
    if (hashed.exitCode !== 0 || !expectedSha) throw new SnapdebugError(`Cannot hash ${remotePath} on ${request.host}.`, { detail: hashed.stderr });
    if (fetched.source.sha256 !== expectedSha) {
      throw new SnapdebugError(`The archive ${target.work.host.name} fetched from ${request.host} does not match the one written there (sha256).`, { detail: fetched.stderr });
    }
    core.log(`${target.work.host.name} fetched ${fetched.source.bytes} bytes from ${request.host} host to host (sha256 ${expectedSha!.slice(0, 12)}… verified)`);
    const meta: SnapshotMeta = {
      id,
      kind: 'checkpoint',
      createdAt: new Date().toISOString(),
      source: snapshotSource(request.host, before),
      podmanVersion: (await source.capabilities()).podmanVersion,
      cgroupVersion: (await source.capabilities()).info.host.cgroupVersion,
      options,
      compression,
      archive: core.store.archiveName(id, compression),
      size: Number(sizeText),
      sha256: expectedSha,
      sourceLeftRunning: true,
      timings: { checkpointMs, totalMs: Date.now() - started },
    };
    const pushed: PushedArchive = { host: target.work.host, path: target.work.file('archive.tar'), bytes: fetched.copy.bytes, sha256: fetched.copy.sha256 };
    const storing = () => storeFromSource(core, source, sw, remotePath, meta, control);
    return { meta, pushed, storing, abandon: () => sw.abandon(core.log) };
  } catch (error) {
    if (keyAuthorised) await dropKey(source, tag).catch(() => undefined);
    await sw.abandon(core.log);
    throw error;
  }
}

async function dropKey(source: Host, tag: string): Promise<void> {
  const result = await source.runner.run(source.script(`${prelude}${cleanupLib}drop_authkey "$1"`, [tag]));
  if (result.exitCode !== 0) throw new SnapdebugError(`Cannot remove the one-time key from ${source.name}.`, { detail: result.stderr });
}

interface Fetched {
  source: { sha256: string; bytes: number };
  copy: { sha256: string; bytes: number };
  stderr: string;
}

/** Whether both hosts have zstd (the source's podman compresses with its own library; reading the head and unpacking need the program). */
async function bothHaveZstd(source: Host, target: Host): Promise<boolean> {
  const has = (host: Host) => host.runner.run(['sh', '-c', 'command -v zstd']).then((r) => r.exitCode === 0, () => false);
  const [a, b] = await Promise.all([has(source), has(target)]);
  return a && b;
}

async function fetchWithProgress(work: RemoteWork, skip: number, link: SourceLink, compression: 'zstd' | 'none', onBytes: (bytes: number) => void, signal?: AbortSignal): Promise<Fetched> {
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
    const [, sourceSha, sourceBytes] = line('source') ?? [];
    const [, copySha, copyBytes] = line('copy') ?? [];
    if (result.exitCode !== 0 || !sourceSha || !copySha) {
      throw new SnapdebugError(`${host.name} could not fetch the archive from the source host.`, { detail: result.stderr });
    }
    return { source: { sha256: sourceSha, bytes: Number(sourceBytes) }, copy: { sha256: copySha, bytes: Number(copyBytes) }, stderr: result.stderr };
  } finally {
    polling = false;
    await poll;
  }
}

/** The verified original into the store, from the source's work (resumable), then the work ends. */
async function storeFromSource(core: Core, source: Host, work: RemoteWork, remotePath: string, meta: SnapshotMeta, control: WorkControl): Promise<SnapshotMeta> {
  core.store.ensure();
  const part = core.store.partPath(meta.id);
  try {
    const received = await pullFile(core.hosts.lanes(source.name, core.settings.transferLanes), remotePath, part, {
      ...(control.signal && { signal: control.signal }),
      onProgress: (total) => (control.progress ?? noProgress)({ phase: 'pull', message: `Storing ${meta.id} here`, bytes: total, total: meta.size }),
      work,
    });
    if (received.sha256 !== meta.sha256) throw new SnapdebugError(`The store's copy of ${meta.id} does not match the archive on ${source.name} (sha256).`);
    const facts = await inspectArchiveFile(part);
    const committed = core.store.commit(part, { ...meta, ...(facts.criu && { criu: facts.criu }) });
    await work.finish();
    return committed;
  } catch (error) {
    rmSync(part, { force: true });
    await work.abandon(core.log);
    throw error;
  }
}
