// ssh_config and known_hosts against the lab's real sshd, side by side with OpenSSH's own client:
// the same config reaches the same host for both (`?`, Include inside a Host block), names that
// known_hosts would read as patterns are refused before anything is recorded, UserKnownHostsFile
// none writes no file, ProxyCommand is refused and never run, hashed keys we record are keys ssh
// accepts, and a refused passphrase or password is reported so a remembered one is forgotten.
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labFiles, labHosts } from '../../lab/paths';
import type { RefusedSecret, SshPrompts } from '../../src/core/ssh/connection';
import { SshPool } from '../../src/core/ssh/pool';
import { SshRunner } from '../../src/core/ssh/runner';
import { loadSshConfig } from '../../src/core/ssh/sshConfig';
import { labSsh } from './helpers';

const run = promisify(execFile);
const prodPort = labHosts[0]!.sshPort;
const prodKeyLine = () => readFileSync(labFiles.knownHosts, 'utf8').split('\n').find((l) => l.startsWith(`[127.0.0.1]:${prodPort} `))!;
const prodKey = () => prodKeyLine().split(' ').slice(1).join(' ');

describe('ssh_config and known_hosts (lab sshd, with OpenSSH beside us)', function () {
  this.timeout(60_000);
  let dir: string;
  const refused: RefusedSecret[] = [];
  const logs: string[] = [];
  let answers: { password: string[]; passphrase: string[] };
  const prompts: SshPrompts = {
    confirmHostKey: async () => false,
    passphrase: async () => answers.passphrase.shift(),
    password: async () => answers.password.shift(),
    refused: (secret) => void refused.push(secret),
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snapdebug-sshcfg-'));
    refused.length = 0;
    logs.length = 0;
    answers = { password: [], passphrase: [] };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, text: string): string {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  }

  async function hostnameVia(config: string, host = 'prod'): Promise<string> {
    const pool = new SshPool(prompts, { sshConfigFile: config, log: (l) => logs.push(l) });
    try {
      return (await new SshRunner(host, pool.connection(host)).run(['hostname'])).stdout.trim();
    } finally {
      pool.dispose();
    }
  }

  const openssh = (config: string, host = 'prod') => execFileSync('ssh', ['-F', config, '-o', 'BatchMode=yes', host, 'hostname'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

  it('a config with `Host prod?` and an Include inside `Host prod` reaches prod for both ssh and us', async () => {
    const common = write('common.conf', `User root\nIdentityFile ${labFiles.privateKey}\nIdentitiesOnly yes\n`);
    const config = write(
      'config',
      [
        // `?` is exactly one character: this block must not apply to prod (it would send us to port 1).
        'Host prod?',
        '  Port 1',
        'Host prod',
        `  Include ${common}`,
        // Lines after the Include still belong to Host prod.
        '  HostName 127.0.0.1',
        `  Port ${prodPort}`,
        `  UserKnownHostsFile ${labFiles.knownHosts}`,
        '  StrictHostKeyChecking yes',
        'Host *',
        '  Port 2',
      ].join('\n'),
    );
    assert.equal(openssh(config), 'prod');
    assert.equal(await hostnameVia(config), 'prod');
  });

  it('HostKeyAlias "foo,*" with accept-new is refused before connecting; nothing is recorded', async () => {
    const knownHosts = write('known_hosts', '');
    const config = write('config', `Host prod\n  HostName 127.0.0.1\n  Port ${prodPort}\n  User root\n  IdentityFile ${labFiles.privateKey}\n  HostKeyAlias foo,*\n  UserKnownHostsFile ${knownHosts}\n  StrictHostKeyChecking accept-new\n`);
    await assert.rejects(hostnameVia(config), /the HostKeyAlias "foo,\*" is not a plain host name .* refuses it before any host key is looked up or recorded/);
    assert.equal(readFileSync(knownHosts, 'utf8'), '');
  });

  it('UserKnownHostsFile none: keys come from GlobalKnownHostsFile, and no file named "none" appears', async () => {
    const before = existsSync('none');
    const base = `Host prod\n  HostName 127.0.0.1\n  Port ${prodPort}\n  User root\n  IdentityFile ${labFiles.privateKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile none\n`;
    assert.equal(await hostnameVia(write('config', `${base}  GlobalKnownHostsFile ${labFiles.knownHosts}\n  StrictHostKeyChecking yes\n`)), 'prod');
    // With no known_hosts at all, accept-new trusts the key for this connection only, as ssh does.
    assert.equal(await hostnameVia(write('config2', `${base}  GlobalKnownHostsFile none\n  StrictHostKeyChecking accept-new\n`)), 'prod');
    assert.ok(logs.some((l) => /trusted ssh-ed25519 SHA256:\S+ for this connection only \(UserKnownHostsFile none\)/.test(l)), logs.join('\n'));
    assert.equal(existsSync('none'), before, 'no ./none was created');
    assert.equal(existsSync(join(process.cwd(), 'none')), before);
  });

  it('HashKnownHosts yes: the key we record is hashed, and OpenSSH then trusts it with StrictHostKeyChecking yes', async () => {
    const knownHosts = write('known_hosts', '');
    const lines = `Host prod\n  HostName 127.0.0.1\n  Port ${prodPort}\n  User root\n  IdentityFile ${labFiles.privateKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${knownHosts}\n  HashKnownHosts yes\n`;
    assert.equal(await hostnameVia(write('config', `${lines}  StrictHostKeyChecking accept-new\n`)), 'prod');
    const recorded = readFileSync(knownHosts, 'utf8');
    assert.match(recorded, /^\|1\|\S+\|\S+ ssh-ed25519 \S+\n$/);
    assert.ok(recorded.includes(prodKey()));
    assert.equal(openssh(write('config-strict', `${lines}  StrictHostKeyChecking yes\n`)), 'prod');
  });

  it('ProxyCommand is refused with a sentence, and never run', async () => {
    const canary = join(dir, 'proxy-ran');
    const config = write('config', `Host prod\n  HostName 127.0.0.1\n  Port ${prodPort}\n  User root\n  IdentityFile ${labFiles.privateKey}\n  UserKnownHostsFile ${labFiles.knownHosts}\n  ProxyCommand sh -c 'touch ${canary}; exec nc %h %p'\n`);
    // OpenSSH would use it for prod:
    assert.match(execFileSync('ssh', ['-G', '-F', config, 'prod'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), /^proxycommand sh -c/m);
    const cli = await run('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', config, 'ps', 'prod']).then(
      () => assert.fail('a ProxyCommand must not be dropped silently'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /line 7 \(for prod\): ProxyCommand sh -c .* applies to prod, and snapdebug does not run proxy commands/);
    assert.equal(existsSync(canary), false);
  });

  it('a --ssh-config file that does not exist is an error, not an empty config', async () => {
    const cli = await run('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', join(dir, 'missing'), 'ps', 'prod']).then(
      () => assert.fail('a missing config must be an error'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(cli.code, 2, 'a usage error, found before any host is reached');
    assert.match(cli.stderr, /--ssh-config .*missing: no such file/);
    // The core refuses it too, for the extension's setting: never read as an empty config.
    assert.throws(() => loadSshConfig({ file: join(dir, 'missing') }), /The ssh config file .*missing does not exist/);
  });

  it('a wrong passphrase is reported as refused (and the right one then works)', async () => {
    const key = join(dir, 'id_locked');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right phrase', '-C', 'snapdebug-passphrase-test', '-f', key]);
    const publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
    await labSsh('prod', `echo '${publicKey}' >> /root/.ssh/authorized_keys`);
    try {
      const config = write('config', `Host prod\n  HostName 127.0.0.1\n  Port ${prodPort}\n  User root\n  IdentityFile ${key}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${labFiles.knownHosts}\n`);
      answers.passphrase = ['wrong phrase'];
      await assert.rejects(hostnameVia(config), /refused for every key and password/);
      assert.deepEqual(refused, [{ kind: 'passphrase', keyFile: key }]);
      refused.length = 0;
      answers.passphrase = ['right phrase'];
      assert.equal(await hostnameVia(config), 'prod');
      assert.deepEqual(refused, []);
    } finally {
      await labSsh('prod', "sed -i '/snapdebug-passphrase-test/d' /root/.ssh/authorized_keys");
    }
  });

  it('a password the server refuses is reported as refused (real sshd with passwords, reached through ProxyJump)', async () => {
    // A second sshd inside prod, on prod's own loopback, that takes passwords for one test user.
    const port = 2299;
    await labSsh(
      'prod',
      `id pwtest >/dev/null 2>&1 || useradd -m pwtest; echo 'pwtest:right-password' | chpasswd; ` +
        `/usr/sbin/sshd -p ${port} -o ListenAddress=127.0.0.1 -o PasswordAuthentication=yes -o KbdInteractiveAuthentication=no -o UsePAM=no -o PerSourcePenalties=no -o AllowUsers=pwtest -o PidFile=/run/snapdebug-pwtest.pid`,
    );
    try {
      const knownHosts = write('known_hosts', `[127.0.0.1]:${port} ${prodKey()}\n${prodKeyLine()}\n`);
      const config = write(
        'config',
        `Host prod\n  HostName 127.0.0.1\n  Port ${prodPort}\n  User root\n  IdentityFile ${labFiles.privateKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${knownHosts}\n` +
          `Host pw\n  HostName 127.0.0.1\n  Port ${port}\n  User pwtest\n  ProxyJump prod\n  IdentityFile ${join(dir, 'no-such-key')}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${knownHosts}\n`,
      );
      answers.password = ['wrong-password'];
      await assert.rejects(hostnameVia(config, 'pw'), /refused for every key and password/);
      assert.deepEqual(refused, [{ kind: 'password', user: 'pwtest', host: 'pw' }]);
      refused.length = 0;
      answers.password = ['right-password'];
      assert.equal(await hostnameVia(config, 'pw'), 'prod');
      assert.deepEqual(refused, []);
    } finally {
      await labSsh('prod', 'kill "$(cat /run/snapdebug-pwtest.pid)" 2>/dev/null; rm -f /run/snapdebug-pwtest.pid; userdel -r pwtest 2>/dev/null; true');
    }
  });
});
