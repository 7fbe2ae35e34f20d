// The relabeller against what used to leave the real config.dump unlabelled while it reported
// success: the dump named through the ustar prefix, a pax path or a GNU long name, or twice. Then
// the hold-and-approve step (both dumps read, checked, and only then sent on), the refusal of an
// oversized dump before its body is read, and podman's real archive layout round-tripped.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { approveCopy } from '../../../src/core/archive/copyPolicy';
import { decompressor } from '../../../src/core/archive/decompress';
import { DumpRewriter, entryRenames, entryRewrites, type CopyDumps, type DumpRewriterOptions } from '../../../src/core/archive/relabel';
import { TarParser, type TarEntry } from '../../../src/core/archive/tarParser';
import { fixture, randomChunks } from '../helpers';
import { entry, gnuLong, header, pax, tar } from './tarBuild';

const labels = { 'snapdebug.origin': 'demo-20260101-000000-abcd' };
const configText = JSON.stringify({ name: 'demo', labels: { team: 'payments' }, conmonPidFile: '/etc/cron.d/x', pid_file: '/root/.bashrc', mounts: ['/var/lib/x/shm'] });
const specText = JSON.stringify({ ociVersion: '1.2.0' });
const pages = Buffer.alloc(3000, 7);

interface Run {
  output: Buffer;
  rewriter: DumpRewriter;
}

/** Pipes bytes (fed in random pieces) through a rewriter; resolves with what came out. */
async function rewrite(input: Buffer, options: DumpRewriterOptions = {}, rewrites = entryRewrites({ labels, annotations: { 'org.criu.config': '/c' } }), renames: Record<string, string> = {}): Promise<Run> {
  const rewriter = new DumpRewriter(rewrites, renames, options);
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(Buffer.from(chunk));
      done();
    },
  });
  await pipeline(Readable.from(randomChunks(input, 400, 9)), rewriter, sink);
  return { output: Buffer.concat(out), rewriter };
}

/** The entries of a tar, with the bytes of each (headers and kept bodies). */
function entries(archive: Buffer): Array<{ entry: TarEntry; header: Buffer; body: Buffer }> {
  const found: Array<{ entry: TarEntry; header: Buffer; body: Buffer }> = [];
  for (const event of new TarParser(() => true, { maxKeptBytes: 64 * 1024 * 1024 }).push(archive)) {
    if (event.kind === 'entry') found.push({ entry: event.entry, header: Buffer.concat(event.header), body: Buffer.alloc(0) });
    if (event.kind === 'kept') found.at(-1)!.body = event.contents;
  }
  return found;
}

function gnuTarRead(archive: Buffer, name: string): string {
  return execFileSync('tar', ['-xOf', '-', name], { input: archive, encoding: 'utf8' });
}

describe('relabel: names, refusals, approval', () => {
  const encodings: Array<[string, Buffer]> = [
    ['plain', entry('config.dump', configText)],
    ['./ prefix', entry('./config.dump', configText)],
    ['ustar prefix field', entry('config.dump', configText, { prefix: '.' })],
    ['pax path', Buffer.concat([pax({ path: 'config.dump' }), entry('PaxHeaders.0/renamed', configText)])],
    ['GNU long name', Buffer.concat([gnuLong('config.dump'), entry('././@LongLink-was-here', configText, { magic: 'gnu' })])],
  ];
  for (const [label, encoded] of encodings) {
    it(`finds config.dump named by ${label}, and writes it back labelled under its plain name`, async () => {
      const { output, rewriter } = await rewrite(tar(entry('artifacts/', '', { flag: '5' }), encoded, entry('spec.dump', specText), entry('checkpoint/pages-1.img', pages)));
      assert.equal(rewriter.complete, true);
      const listing = execFileSync('tar', ['-tf', '-'], { input: output, encoding: 'utf8' }).split('\n').filter(Boolean);
      assert.deepEqual(listing, ['artifacts/', 'config.dump', 'spec.dump', 'checkpoint/pages-1.img']);
      const config = JSON.parse(gnuTarRead(output, 'config.dump')) as Record<string, unknown>;
      assert.deepEqual(config, { name: 'demo', labels: { team: 'payments', ...labels } }, 'labelled, and the host paths podman would write to are gone');
      assert.deepEqual(JSON.parse(gnuTarRead(output, 'spec.dump')), { ociVersion: '1.2.0', annotations: { 'org.criu.config': '/c' } });
    });
  }

  for (const [label, second] of encodings.slice(1)) {
    it(`refuses a second config.dump named by ${label}, sending neither`, async () => {
      const input = tar(entry('config.dump', configText), second, entry('spec.dump', specText));
      let output = Buffer.alloc(0);
      const rewriter = new DumpRewriter(entryRewrites({ labels }));
      rewriter.on('data', (chunk: Buffer) => (output = Buffer.concat([output, chunk])));
      await assert.rejects(pipeline(Readable.from([input]), rewriter), /^SnapdebugError: Archive entry "config\.dump" appears twice: which one a reader takes would be ambiguous: the archive is refused\.$/);
      assert.equal(output.includes(Buffer.from('"name":"demo"')), false, 'no config.dump went on');
    });
  }

  it('refuses a config.dump that claims 128 MiB from its header, before reading the body', async () => {
    const claimed = 128 * 1024 * 1024;
    // Only the header and a megabyte follow: the refusal must come before the rest is needed.
    const input = Buffer.concat([entry('artifacts/', '', { flag: '5' }), header({ name: 'config.dump', size: claimed }), Buffer.alloc(1024 * 1024, 0x20)]);
    await assert.rejects(
      pipeline(Readable.from([input]), new DumpRewriter(entryRewrites({ labels })), new Writable({ write: (_c, _e, done) => done() })),
      /^SnapdebugError: Archive entry "config\.dump" is 134217728 bytes, more than the 4194304 read into memory \(podman writes tens of KiB\): the archive is refused\.$/,
    );
  });

  it('refuses a config.dump that is not a file', async () => {
    await assert.rejects(rewrite(tar(entry('config.dump/', '', { flag: '5' }), entry('spec.dump', specText))), /^SnapdebugError: The archive's config\.dump is not a file: the archive is refused\.$/);
  });

  it('asks for approval once, with both dumps as read, before either goes on; the rest waits', async () => {
    const before = entry('artifacts/', '', { flag: '5' });
    const input = tar(before, entry('config.dump', configText), entry('spec.dump', specText), entry('checkpoint/pages-1.img', pages));
    const asked: CopyDumps[] = [];
    let approve!: () => void;
    let markAsked!: () => void;
    const wasAsked = new Promise<void>((resolve) => (markAsked = resolve));
    let out = Buffer.alloc(0);
    /** Bytes the rewriter has let go of: read by us, or waiting in its buffer. */
    const sent = () => out.length + rewriter.readableLength;
    let sentWhenAsked = -1;
    const rewriter = new DumpRewriter(entryRewrites({ labels }), {}, {
      approve: (dumps) => {
        asked.push(dumps);
        sentWhenAsked = sent();
        markAsked();
        return new Promise<void>((resolve) => (approve = resolve));
      },
    });
    rewriter.on('data', (chunk: Buffer) => (out = Buffer.concat([out, chunk])));
    const done = pipeline(Readable.from([input]), rewriter);
    await wasAsked;
    assert.deepEqual(asked, [{ configDump: Buffer.from(configText), specDump: Buffer.from(specText) }]);
    assert.equal(sentWhenAsked, before.length, 'only the entries before the dumps had gone on');
    await new Promise((resolve) => setImmediate(resolve)); // a turn of the event loop, for the stream to run ahead if it would
    assert.equal(sent(), before.length, 'nothing goes on while approval is pending');
    approve();
    await done;
    assert.equal(asked.length, 1);
    assert.deepEqual(JSON.parse(gnuTarRead(out, 'config.dump')).labels, { team: 'payments', ...labels });
    assert.deepEqual(execFileSync('tar', ['-xOf', '-', 'checkpoint/pages-1.img'], { input: out }), pages);
  });

  it('fails the stream with the approver\'s refusal, sending neither dump', async () => {
    const input = tar(entry('config.dump', configText), entry('spec.dump', specText), entry('checkpoint/pages-1.img', pages));
    const refusal = new Error('spec.dump asks for the OCI hook "/x" (prestart), which would run as root on the debug host: the copy is refused, and nothing was restored.');
    let out = Buffer.alloc(0);
    const rewriter = new DumpRewriter(entryRewrites({ labels }), {}, { approve: async () => Promise.reject(refusal) });
    rewriter.on('data', (chunk: Buffer) => (out = Buffer.concat([out, chunk])));
    await assert.rejects(pipeline(Readable.from([input]), rewriter), (error) => error === refusal);
    assert.equal(out.length, 0);
  });

  it('writes a renamed entry whose new name is too long for ustar under a pax path', async () => {
    const longName = `volumes/${'copy-'.repeat(30)}data.tar`;
    const volume = Buffer.alloc(1500, 3);
    const input = tar(entry('config.dump', configText), entry('spec.dump', specText), entry('volumes/data.tar', volume));
    const { output, rewriter } = await rewrite(input, {}, entryRewrites({ labels }), entryRenames({ volumes: { data: longName.slice(8, -4) } }));
    assert.deepEqual([...rewriter.renamed], ['volumes/data.tar']);
    assert.deepEqual(execFileSync('tar', ['-xOf', '-', longName], { input: output }), volume);
  });

  it('round-trips podman\'s real archive layout: only the two dumps change, every other entry is byte-identical', async () => {
    const compressed = readFileSync(fixture('demo-api-layout.tar.zst'));
    const original = execFileSync('zstd', ['-dc'], { input: compressed, maxBuffer: 64 * 1024 * 1024 });
    const dumps: CopyDumps[] = [];
    const rewriter = new DumpRewriter(entryRewrites({ labels, annotations: { 'org.criu.config': '/var/tmp/c.conf' } }), {}, {
      // podman's own dumps of an unprivileged container pass the real policy, asking the host nothing.
      approve: (d) => (dumps.push(d), approveCopy(d, {}, async (path) => assert.fail(`asked the host for ${path}`))),
    });
    const out: Buffer[] = [];
    await pipeline(Readable.from(randomChunks(compressed, 2000, 3)), decompressor(), rewriter, new Writable({ write: (c: Buffer, _e, done) => (out.push(Buffer.from(c)), done()) }));
    const output = Buffer.concat(out);
    assert.equal(dumps.length, 1);
    const before = entries(original);
    const after = entries(output);
    assert.deepEqual(
      after.map((e) => e.entry.name),
      before.map((e) => e.entry.name),
    );
    for (const [i, { entry: e, header: h, body }] of after.entries()) {
      if (e.name === 'config.dump' || e.name === 'spec.dump') continue;
      assert.deepEqual(h, before[i]!.header, `${e.name}: header bytes`);
      assert.deepEqual(body, before[i]!.body, `${e.name}: body bytes`);
    }
    const config = JSON.parse(gnuTarRead(output, 'config.dump')) as Record<string, unknown>;
    const podmanConfig = JSON.parse(gnuTarRead(original, 'config.dump')) as Record<string, unknown>;
    assert.deepEqual(config['labels'], { ...(podmanConfig['labels'] as object), ...labels });
    assert.ok(podmanConfig['conmonPidFile'] && !('conmonPidFile' in config) && !('pid_file' in config) && !('mounts' in config));
    const spec = JSON.parse(gnuTarRead(output, 'spec.dump')) as { annotations: Record<string, string> };
    assert.equal(spec.annotations['org.criu.config'], '/var/tmp/c.conf');
    const mode = (name: string) => after.find((e) => e.entry.name === name)!.entry.mode;
    assert.equal(mode('config.dump'), 0o600, 'the dump keeps podman\'s mode');
  });
});
