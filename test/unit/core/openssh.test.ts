// OpenSSH's real `ssh` against an ssh2 server on 127.0.0.1 that runs each command with a local `sh`:
// ssh logs in only with the host key our ssh2 connection verified (pinned), and a host showing it
// another key is refused before any credential is offered, failing closed; remote commands arrive
// exactly as shellJoin quoted them; pullFile through it lets ssh write the file itself, verified by
// sha256 on both ends, with progress, and a cancel leaves nothing behind.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import ssh2, { type Server as ServerType } from 'ssh2';
import { createCore } from '../../../src/core/core';
import { Host } from '../../../src/core/host';
import { HostRegistry } from '../../../src/core/hosts';
import { pullFile } from '../../../src/core/snapshot/pull';
import { pullFrom } from '../../../src/core/snapshot/pullLanes';
import { SshConnection } from '../../../src/core/ssh/connection';
import { findSshProgram, opensshArgv, PinnedKnownHosts, pinnedHostAlias } from '../../../src/core/ssh/openssh';
import { OpenSshRunner, probeOpenSsh, type OpenSshAccess } from '../../../src/core/ssh/opensshRunner';
import { SshRunner, type RunOptions } from '../../../src/core/ssh/runner';
import type { HostTarget } from '../../../src/core/ssh/sshConfig';
import { isAbortError } from '../../../src/core/util/abort';
import { shellJoin } from '../../../src/core/util/quote';
import { plannedTempDir } from '../helpers';

const { Server, utils } = ssh2;
const MiB = 1024 * 1024;
const program = findSshProgram();
const refuse = { confirmHostKey: async () => false, passphrase: async () => undefined, password: async () => undefined };

function publicBlob(publicKey: string): Buffer {
  const parsed = utils.parseKey(publicKey);
  if (parsed instanceof Error) throw parsed;
  return (Array.isArray(parsed) ? parsed[0]! : parsed).getPublicSSH();
}

describe('OpenSSH ssh for bulk reads (real ssh, ssh2 server on 127.0.0.1)', function () {
  this.timeout(30_000);
  const temp = plannedTempDir('openssh');
  const hostKeys = utils.generateKeyPairSync('ed25519');
  const clientKeys = utils.generateKeyPairSync('ed25519');
  const clientKeyFile = join(temp.dir, 'id_ed25519');
  const knownHosts = join(temp.dir, 'known_hosts');
  /** Every authentication attempt the server saw, by method. */
  const attempts: string[] = [];
  /** Client keys the server accepts besides clientKeys'. */
  const alsoAllowed: Buffer[] = [];
  let server: ServerType;
  let connection: SshConnection;
  let target: HostTarget;
  let pins: PinnedKnownHosts[] = [];

  before(async () => {
    temp.create();
    assert.ok(program, 'this machine needs OpenSSH\'s ssh on PATH for these tests');
    writeFileSync(clientKeyFile, clientKeys.private, { mode: 0o600 });
    const allowed = publicBlob(clientKeys.public);
    server = new Server({ hostKeys: [hostKeys.private] }, (client) => {
      client.on('error', () => undefined); // a client killed mid-stream (the cancel test) resets its socket
      client.on('authentication', (context) => {
        attempts.push(context.method);
        if (context.method === 'publickey' && [allowed, ...alsoAllowed].some((key) => context.key.data.equals(key))) return context.accept();
        context.reject(['publickey']);
      });
      const children = new Set<ReturnType<typeof spawn>>();
      // A client gone (cancel): its commands go too, as sshd's would.
      const end = (child: ReturnType<typeof spawn>) => {
        if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM'); // its whole process group
      };
      client.on('close', () => children.forEach(end));
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          const child = spawn('sh', ['-c', info.command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
          children.add(child);
          // Not ended by the pipes: the exit status must go out before the channel ends.
          child.stdout.pipe(stream, { end: false });
          child.stderr.pipe(stream.stderr, { end: false });
          stream.on('close', () => end(child));
          child.on('close', (code) => {
            children.delete(child);
            stream.exit(code ?? 1);
            stream.end();
          });
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ssh-ed25519 ${publicBlob(hostKeys.public).toString('base64')}\n`);
    target = {
      alias: 'unit',
      hostName: '127.0.0.1',
      port,
      user: 'tester',
      identityFiles: [clientKeyFile],
      identitiesOnly: true,
      identityAgent: undefined,
      proxyJump: undefined,
      userKnownHostsFiles: [knownHosts],
      globalKnownHostsFiles: [],
      strictHostKeyChecking: 'yes',
      hostKeyAlias: undefined,
      hashKnownHosts: false,
      connectTimeoutMs: 5000,
    };
    connection = new SshConnection(target, refuse, {}, () => {
      throw new Error('no jumps here');
    });
    await connection.connect();
  });

  after(() => {
    connection?.dispose();
    server?.close();
    for (const pin of pins) pin.remove();
    temp.cleanup();
  });

  const access = (hostKey: Buffer): OpenSshAccess => {
    const pinned = new PinnedKnownHosts(hostKey);
    pins.push(pinned);
    return { program: program!, connection, pinned };
  };

  it('pins exactly the key ssh2 verified, in a 0600 file in a 0700 folder, under one alias', () => {
    assert.ok(connection.verifiedHostKey?.equals(publicBlob(hostKeys.public)), 'the connection kept the key it verified');
    const pinned = access(connection.verifiedHostKey!).pinned;
    assert.equal(readFileSync(pinned.file, 'utf8'), `${pinnedHostAlias} ssh-ed25519 ${connection.verifiedHostKey!.toString('base64')}\n`);
    assert.equal(statSync(pinned.file).mode & 0o777, 0o600);
    assert.equal(statSync(join(pinned.file, '..')).mode & 0o777, 0o700);
    pinned.remove();
    assert.equal(existsSync(pinned.file), false);
  });

  it('builds an argv that reads no ssh_config, cannot prompt or forward, checks the pinned key strictly, and quotes once', () => {
    const argv = opensshArgv('/usr/bin/ssh', target, { file: '/pin/known_hosts', hostKey: publicBlob(hostKeys.public) }, ['printf', '%s', "it's; rm -rf /"]);
    const options = argv.flatMap((word, i) => (argv[i - 1] === '-o' ? [word] : []));
    for (const expected of ['BatchMode=yes', 'StrictHostKeyChecking=yes', 'UserKnownHostsFile=/pin/known_hosts', 'GlobalKnownHostsFile=/dev/null', `HostKeyAlias=${pinnedHostAlias}`, 'HostKeyAlgorithms=ssh-ed25519', 'ForwardAgent=no', 'ClearAllForwardings=yes', 'PermitLocalCommand=no', 'ProxyCommand=none', 'ControlPath=none', 'PasswordAuthentication=no', 'UpdateHostKeys=no']) {
      assert.ok(options.includes(expected), `${expected} in ${options.join(' ')}`);
    }
    assert.deepEqual(argv.slice(1, 3), ['-F', 'none']);
    assert.deepEqual(argv.slice(-3), ['--', '127.0.0.1', shellJoin(['printf', '%s', "it's; rm -rf /"])]);
  });

  it('logs in with the verified key and runs the argv exactly as quoted', async () => {
    const ok = access(connection.verifiedHostKey!);
    assert.equal(await probeOpenSsh(ok), undefined);
    const runner = new OpenSshRunner('unit', new SshRunner('unit', connection), ok);
    const stream = await runner.start(['printf', '%s|', 'a b', "it's", '$HOME', '`id`']);
    const out: Buffer[] = [];
    for await (const chunk of stream.stdout) out.push(chunk as Buffer);
    assert.equal(await stream.exit, 0);
    assert.equal(Buffer.concat(out).toString(), "a b|it's|$HOME|`id`|");
  });

  it('refuses a host that shows ssh another key than the pinned one, before offering any credential, and never falls back', async () => {
    const other = publicBlob(utils.generateKeyPairSync('ed25519').public);
    const before = attempts.length;
    await assert.rejects(() => probeOpenSsh(access(other)), /another host key than the one verified/);
    // So does a first stream, which is its own probe: refused, not taken for a login to fall back from.
    const source = join(temp.dir, 'guarded.bin');
    writeFileSync(source, randomBytes(1024));
    const runner = new OpenSshRunner('unit', new SshRunner('unit', connection), access(other));
    await assert.rejects(pullFile([new Host('unit', runner)], source, join(temp.dir, 'guarded.part'), { rangesPerLane: 1 }), /another host key than the one verified/);
    assert.equal(existsSync(join(temp.dir, 'guarded.part')), false);
    assert.deepEqual(attempts.slice(before), [], 'no authentication was attempted');
  });

  it('pullFile: ssh writes the file itself; both sha256s agree; progress reaches the size', async () => {
    const source = join(temp.dir, 'source.bin');
    const data = randomBytes(40 * MiB + 12345);
    writeFileSync(source, data);
    const dest = join(temp.dir, 'pulled.part');
    const runner = new OpenSshRunner('unit', new SshRunner('unit', connection), access(connection.verifiedHostKey!));
    const totals: number[] = [];
    const received = await pullFile([new Host('unit', runner)], source, dest, { rangesPerLane: 1, onProgress: (total) => totals.push(total) });
    assert.equal(received.sha256, createHash('sha256').update(data).digest('hex'));
    assert.ok(readFileSync(dest).equals(data));
    assert.equal(statSync(dest).mode & 0o777, 0o600);
    assert.equal(totals.at(-1), data.length);
    assert.ok(totals.every((t, i) => i === 0 || t > totals[i - 1]!), 'progress only grows');
  });

  it('pullFile: a cancel ends ssh and leaves no file', async () => {
    const source = join(temp.dir, 'endless');
    // A "file" that never ends: the pull can only finish by being cancelled.
    writeFileSync(source, '');
    const dest = join(temp.dir, 'cancelled.part');
    const runner = new OpenSshRunner('unit', new SshRunner('unit', connection), access(connection.verifiedHostKey!));
    // The host side answers the size of a large file, then sends 8 MiB and stalls.
    const stalling = {
      label: 'unit',
      drops: () => runner.drops(),
      start: (argv: readonly string[], options?: { signal?: AbortSignal }) => runner.start(argv, options),
      startToFile: (_argv: readonly string[], fd: number, options: { signal?: AbortSignal }) => runner.startToFile(['sh', '-c', 'head -c 8388608 /dev/zero; exec sleep 30'], fd, options),
      run: async (argv: readonly string[], options?: RunOptions) => (argv[0] === 'stat' ? { stdout: `${64 * MiB}\n`, stderr: '', exitCode: 0 } : runner.run(argv, options)),
    };
    const slow = new Host('unit', stalling);
    const controller = new AbortController();
    const pulling = pullFile([slow], source, dest, { rangesPerLane: 1, signal: controller.signal, onProgress: () => controller.abort() });
    await assert.rejects(pulling, (error) => isAbortError(error));
    assert.equal(existsSync(dest), false);
    pins = pins.filter((p) => p.exists);
  });

  it('keeps to ssh2 when this machine has no ssh program, saying why once', async () => {
    assert.equal(findSshProgram(temp.dir), undefined);
    const lines: string[] = [];
    const registry = new HostRegistry({ prompts: refuse, sshProgram: null, log: (line) => lines.push(line), sshConfigFile: sshConfigFor(target) });
    try {
      const { lanes, via } = await registry.bulkLanes('unit', 2);
      assert.equal(via, 'ssh2');
      assert.ok(lanes.every((lane) => lane.runner instanceof SshRunner));
      assert.deepEqual(lines, ["unit: bulk transfers use ssh2, not OpenSSH's ssh: turned off"]);
    } finally {
      registry.dispose();
    }
  });

  it('uses ssh with the verified key pinned, through the registry, and removes the pin when disposed', async () => {
    const registry = new HostRegistry({ prompts: refuse, sshConfigFile: sshConfigFor(target), ...(program && { sshProgram: program }) });
    const { lanes, via } = await registry.bulkLanes('unit', 1);
    assert.equal(via, 'openssh');
    assert.ok(lanes[0]!.runner instanceof OpenSshRunner);
    const pinDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('snapdebug-pin-'));
    const before = pinDirs().length;
    registry.dispose();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pinDirs().length, before - 1);
  });

  it('one stream is its own probe: an ssh that cannot log in (a key with a passphrase, no agent) ends its first pull over ssh2, said once, the file whole', async () => {
    const locked = utils.generateKeyPairSync('ed25519', { passphrase: 'secret', cipher: 'aes256-ctr', rounds: 16 });
    const lockedFile = join(temp.dir, 'id_locked');
    writeFileSync(lockedFile, locked.private, { mode: 0o600 });
    alsoAllowed.push(publicBlob(locked.public));
    const lines: string[] = [];
    // ssh2 gets the passphrase from the prompt; OpenSSH's ssh, in batch mode, cannot.
    const core = createCore({ sshConfigFile: sshConfigFor(target, lockedFile), storeDir: join(temp.dir, 'store'), prompts: { ...refuse, passphrase: async () => 'secret' }, ...(program && { sshProgram: program }), log: (line) => lines.push(line) });
    try {
      const source = join(temp.dir, 'locked.bin');
      const data = randomBytes(5 * MiB + 3);
      writeFileSync(source, data);
      const received = await pullFrom(core, 'unit', source, join(temp.dir, 'locked.part'), {});
      assert.equal(received.sha256, createHash('sha256').update(data).digest('hex'));
      assert.ok(readFileSync(join(temp.dir, 'locked.part')).equals(data));
      const said = () => lines.filter((line) => line.includes('bulk transfers use ssh2'));
      assert.equal(said().length, 1, lines.join('\n'));
      assert.match(said()[0]!, /^unit: bulk transfers use ssh2, not OpenSSH's ssh: it cannot log in without a prompt \(.*Permission denied.*\)$/);
      // The next pull goes to ssh2 at once, and says nothing more.
      await pullFrom(core, 'unit', source, join(temp.dir, 'locked2.part'), {});
      assert.equal(said().length, 1);
    } finally {
      core.dispose();
    }
  });

  /** An ssh_config naming the test server as `unit`. */
  function sshConfigFor(t: HostTarget, identity = clientKeyFile): string {
    const file = join(temp.dir, identity === clientKeyFile ? 'ssh_config' : 'ssh_config_other');
    writeFileSync(file, `Host unit\n  HostName ${t.hostName}\n  Port ${t.port}\n  User ${t.user}\n  IdentityFile ${identity}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${knownHosts}\n  StrictHostKeyChecking yes\n`);
    return file;
  }
});
