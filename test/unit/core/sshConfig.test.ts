// Hosts from ssh_config, checked against OpenSSH's own reading (`ssh -G`, which resolves a host
// without connecting) where the two can be compared, and against files in a temporary HOME.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listConfiguredHosts, parseHostSpec, readConfigText, resolveHost, type HostTarget } from '../../../src/core/ssh/sshConfig';
import { SnapdebugError } from '../../../src/core/util/errors';
import { plannedTempDir } from '../helpers';

describe('ssh_config', () => {
  const temp = plannedTempDir('sshconfig');
  before(() => temp.create());
  const home = join(temp.dir, 'home');
  const sshDir = join(home, '.ssh');
  const saved = { HOME: process.env.HOME, USER: process.env.USER, SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK, PATH: process.env.PATH };

  function restoreEnv(name: keyof typeof saved): void {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }

  before(() => {
    mkdirSync(join(sshDir, 'config.d'), { recursive: true });
    // os.homedir() follows HOME on Linux: every ~ and relative Include now lands in the temp dir.
    process.env.HOME = home;
    process.env.USER = 'localuser';
    process.env.SSH_AUTH_SOCK = '/run/agent.sock';
  });
  after(() => {
    for (const name of Object.keys(saved) as (keyof typeof saved)[]) restoreEnv(name);
    temp.cleanup();
  });

  describe('resolveHost', () => {
    const config = [
      'Host prod',
      '  HostName 10.0.0.1',
      '  Port 2201',
      '  User alice',
      '  IdentityFile ~/.ssh/prod_key',
      '  IdentityFile ~/.ssh/id_%h_%p_%r_%n',
      '  IdentitiesOnly yes',
      '  ProxyJump bastion',
      '  UserKnownHostsFile ~/.ssh/known_hosts ~/.ssh/lab_known_hosts /etc/ssh/extra_known_hosts',
      '  StrictHostKeyChecking yes',
      '  HostKeyAlias prod-key',
      '  ConnectTimeout 5',
      '',
      'Host web? !web9',
      '  HostName %h.internal',
      '  Port 3000',
      '',
      'Host prod web*',
      '  Port 9999',
      '  User ignored-because-first-wins',
      '  StrictHostKeyChecking accept-new',
      '',
      'Host *',
      '  User fallback',
      '  ProxyJump none',
      '  IdentityAgent none',
      '',
    ].join('\n');

    it('takes HostName, Port and User from the first matching block', () => {
      const target = resolveHost('prod', config);
      assert.equal(target.alias, 'prod');
      assert.equal(target.hostName, '10.0.0.1');
      assert.equal(target.port, 2201);
      assert.equal(target.user, 'alice');
    });

    it('first value wins across blocks, as in OpenSSH', () => {
      const web = resolveHost('web1', config);
      assert.equal(web.port, 3000, 'the web? block comes before "prod web*"');
      assert.equal(web.user, 'ignored-because-first-wins', 'User first appears in "prod web*" for web1');
      assert.equal(web.strictHostKeyChecking, 'accept-new');
      assert.equal(resolveHost('prod', config).strictHostKeyChecking, 'yes');
    });

    it('expands %h in HostName and honours negated patterns', () => {
      assert.equal(resolveHost('web1', config).hostName, 'web1.internal');
      const web9 = resolveHost('web9', config);
      assert.equal(web9.hostName, 'web9', 'the negation !web9 excludes the whole block');
      assert.equal(web9.port, 9999);
    });

    it('a user or port in the spec overrides the config', () => {
      const target = resolveHost('root@prod:2222', config);
      assert.equal(target.user, 'root');
      assert.equal(target.port, 2222);
      assert.equal(target.hostName, '10.0.0.1');
    });

    it('expands ~ and the %h %p %r %n tokens in IdentityFile, keeping every IdentityFile in order', () => {
      assert.deepEqual(resolveHost('prod', config).identityFiles, [join(sshDir, 'prod_key'), join(sshDir, 'id_10.0.0.1_2201_alice_prod')]);
    });

    it('%n in IdentityFile is the host name as given, without the user@ part', () => {
      // OpenSSH: "%n The original remote hostname, as given on the command line."
      assert.deepEqual(resolveHost('bob@prod', config).identityFiles, [join(sshDir, 'prod_key'), join(sshDir, 'id_10.0.0.1_2201_bob_prod')]);
    });

    it('expands %%, %d and %u', () => {
      const target = resolveHost('x', 'Host x\n  IdentityFile %d/keys/%u_100%%\n');
      assert.deepEqual(target.identityFiles, [join(home, 'keys', 'localuser_100%')]);
    });

    it('keeps a quoted IdentityFile path that contains a space as one file', () => {
      const target = resolveHost('x', 'Host x\n  IdentityFile "~/.ssh/my key"\n');
      assert.deepEqual(target.identityFiles, [join(sshDir, 'my key')]);
    });

    it('reads IdentitiesOnly, ProxyJump, HostKeyAlias and ConnectTimeout (seconds to ms)', () => {
      const prod = resolveHost('prod', config);
      assert.equal(prod.identitiesOnly, true);
      assert.equal(prod.proxyJump, 'bastion');
      assert.equal(prod.hostKeyAlias, 'prod-key');
      assert.equal(prod.connectTimeoutMs, 5000);
    });

    it('reads several UserKnownHostsFile entries on one line, expanding ~', () => {
      assert.deepEqual(resolveHost('prod', config).userKnownHostsFiles, [
        join(sshDir, 'known_hosts'),
        join(sshDir, 'lab_known_hosts'),
        '/etc/ssh/extra_known_hosts',
      ]);
    });

    it('ProxyJump none means no jump host', () => {
      assert.equal(resolveHost('web1', config).proxyJump, undefined);
    });

    it('IdentityAgent none means no agent; unset means SSH_AUTH_SOCK; a path is expanded', () => {
      assert.equal(resolveHost('web1', config).identityAgent, undefined);
      assert.equal(resolveHost('x', '').identityAgent, '/run/agent.sock');
      assert.equal(resolveHost('x', 'Host x\n  IdentityAgent SSH_AUTH_SOCK\n').identityAgent, '/run/agent.sock');
      assert.equal(resolveHost('x', 'Host x\n  IdentityAgent ~/agent.sock\n').identityAgent, join(home, 'agent.sock'));
    });

    it('maps every StrictHostKeyChecking value, defaulting to ask', () => {
      const check = (value: string | undefined) =>
        resolveHost('x', value === undefined ? '' : `Host x\n  StrictHostKeyChecking ${value}\n`).strictHostKeyChecking;
      assert.equal(check('yes'), 'yes');
      assert.equal(check('YES'), 'yes');
      assert.equal(check('accept-new'), 'accept-new');
      assert.equal(check('no'), 'no');
      assert.equal(check('off'), 'no');
      assert.equal(check('ask'), 'ask');
      assert.equal(check(undefined), 'ask');
    });

    it('uses OpenSSH defaults for a host the config does not mention', () => {
      writeFileSync(join(sshDir, 'id_ed25519'), 'not a real key\n', { mode: 0o600 });
      writeFileSync(join(sshDir, 'id_rsa'), 'not a real key\n', { mode: 0o600 });
      const target = resolveHost('elsewhere', '');
      assert.deepEqual(
        { ...target, identityAgent: undefined },
        {
          alias: 'elsewhere',
          hostName: 'elsewhere',
          port: 22,
          user: 'localuser',
          identityFiles: [join(sshDir, 'id_ed25519'), join(sshDir, 'id_rsa')],
          identitiesOnly: false,
          identityAgent: undefined,
          proxyJump: undefined,
          userKnownHostsFiles: [join(sshDir, 'known_hosts'), join(sshDir, 'known_hosts2')],
          globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
          strictHostKeyChecking: 'ask',
          hostKeyAlias: undefined,
          connectTimeoutMs: 15_000,
        } satisfies HostTarget,
      );
    });

    it('agrees with `ssh -G` on hostname, port, user, proxyjump, hostkeyalias, timeout and strictness', () => {
      const file = join(temp.dir, 'compare_config');
      writeFileSync(file, config);
      const strictFromSsh: Record<string, string> = { true: 'yes', false: 'no', ask: 'ask', 'accept-new': 'accept-new' };
      for (const spec of ['prod', 'web1', 'web9', 'db', 'carol@web2', 'root@prod']) {
        const out = execFileSync('ssh', ['-G', '-F', file, spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        const ssh = new Map(out.split('\n').map((line) => [line.split(' ')[0]!, line.slice(line.indexOf(' ') + 1)]));
        const ours = resolveHost(spec, config);
        const where = `for ${spec}`;
        assert.equal(ours.hostName, ssh.get('hostname'), `hostname ${where}`);
        assert.equal(ours.port, Number(ssh.get('port')), `port ${where}`);
        assert.equal(ours.user, ssh.get('user'), `user ${where}`);
        assert.equal(ours.proxyJump, ssh.get('proxyjump'), `proxyjump ${where}`);
        assert.equal(ours.hostKeyAlias, ssh.get('hostkeyalias'), `hostkeyalias ${where}`);
        const timeout = ssh.get('connecttimeout');
        assert.equal(ours.connectTimeoutMs, timeout === 'none' ? 15_000 : Number(timeout) * 1000, `connecttimeout ${where}`);
        assert.equal(ours.strictHostKeyChecking, strictFromSsh[ssh.get('stricthostkeychecking')!], `stricthostkeychecking ${where}`);
      }
    });
  });

  describe('Match exec and other commands a config could ask for', () => {
    it('never runs a Match exec command, in any position, and skips its block', () => {
      const canaries = ['a', 'b', 'c'].map((n) => join(temp.dir, `match-exec-${n}`));
      const text = [
        `Match exec "touch ${canaries[0]}"`,
        '  User evil',
        `Match host prod exec "touch ${canaries[1]}"`,
        '  Port 6666',
        `Match exec "touch ${canaries[2]}" host prod`,
        '  HostName evil.example',
        'Host prod',
        '  User good',
        '  HostName 10.0.0.1',
      ].join('\n');
      const target = resolveHost('prod', text);
      for (const canary of canaries) assert.equal(existsSync(canary), false, `Match exec ran: ${canary} exists`);
      assert.equal(target.user, 'good');
      assert.equal(target.port, 22);
      assert.equal(target.hostName, '10.0.0.1');
    });

    it('still applies Match blocks that need no command', () => {
      const target = resolveHost('prod', 'Match host prod\n  Port 4444\nMatch all\n  User everyone\n');
      assert.equal(target.port, 4444);
      assert.equal(target.user, 'everyone');
    });

    it('never runs Match exec from an included file either', () => {
      const canary = join(temp.dir, 'match-exec-included');
      writeFileSync(join(sshDir, 'exec.conf'), `Match exec "touch ${canary}"\n  User evil\n`);
      const main = join(sshDir, 'exec-main');
      writeFileSync(main, 'Include exec.conf\nHost *\n  User good\n');
      assert.equal(resolveHost('prod', readConfigText(main)).user, 'good');
      assert.equal(existsSync(canary), false);
    });

    it('never runs a program for CanonicalizeHostName (no nslookup from resolveHost)', () => {
      // A fake nslookup first on PATH leaves a mark if anything spawns it.
      const bin = join(temp.dir, 'bin');
      const canary = join(temp.dir, 'nslookup-ran');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'nslookup'), `#!/bin/sh\ntouch '${canary}'\nexit 0\n`);
      chmodSync(join(bin, 'nslookup'), 0o755);
      process.env.PATH = `${bin}:${saved.PATH ?? ''}`;
      try {
        resolveHost('prod', 'Host prod\n  CanonicalizeHostName yes\n  CanonicalDomains example.com example.org\n');
      } finally {
        restoreEnv('PATH');
      }
      assert.equal(existsSync(canary), false, 'resolving a host ran nslookup');
    });
  });

  describe('readConfigText and Include', () => {
    before(() => {
      writeFileSync(join(sshDir, 'config.d', '20-b.conf'), 'Host included-b\n  Port 2002\nHost shared\n  Port 2222\n');
      writeFileSync(join(sshDir, 'config.d', '10-a.conf'), 'Host included-a\n  Port 2001\nHost shared\n  Port 1111\n');
      writeFileSync(join(sshDir, 'config.d', 'notes.txt'), 'Host not-included\n  Port 1\n');
      writeFileSync(join(sshDir, 'tilde.conf'), 'Host tilde\n  Port 2003\n');
      writeFileSync(join(temp.dir, 'absolute.conf'), 'Host absolute\n  Port 2004\n');
      writeFileSync(join(sshDir, 'nested-1.conf'), 'Include nested-2.conf\n');
      writeFileSync(join(sshDir, 'nested-2.conf'), 'Host nested\n  Port 2005\n');
      writeFileSync(
        join(sshDir, 'config'),
        [
          'Include config.d/*.conf',
          `Include ~/.ssh/tilde.conf "${join(temp.dir, 'absolute.conf')}"`,
          'include nested-1.conf',
          'Include does-not-exist.conf nothing/*.conf',
          'Host main',
          '  Port 2000',
          '',
        ].join('\n'),
      );
    });

    it('expands relative (to ~/.ssh), ~ and absolute includes, globs in name order, nested', () => {
      const text = readConfigText(join(sshDir, 'config'));
      const port = (alias: string) => resolveHost(alias, text).port;
      assert.equal(port('included-a'), 2001);
      assert.equal(port('included-b'), 2002);
      assert.equal(port('tilde'), 2003);
      assert.equal(port('absolute'), 2004);
      assert.equal(port('nested'), 2005);
      assert.equal(port('main'), 2000);
      assert.equal(port('not-included'), 22, 'a glob *.conf must not pull in notes.txt');
      assert.equal(port('shared'), 1111, '10-a.conf is read before 20-b.conf, and the first value wins');
      assert.deepEqual(listConfiguredHosts(text), ['included-a', 'shared', 'included-b', 'tilde', 'absolute', 'nested', 'main']);
    });

    it('reads a missing config file as empty', () => {
      assert.equal(readConfigText(join(sshDir, 'no-such-config')), '');
    });

    it('refuses an Include loop with a clear error instead of recursing forever', () => {
      writeFileSync(join(sshDir, 'loop.conf'), 'Include loop.conf\n');
      assert.throws(
        () => readConfigText(join(sshDir, 'loop.conf')),
        (e: unknown) => e instanceof SnapdebugError && /Include nesting is too deep/.test(e.message),
      );
    });
  });

  describe('parseHostSpec', () => {
    it('splits user@host:port and its shorter forms', () => {
      assert.deepEqual(parseHostSpec('prod'), { host: 'prod' });
      assert.deepEqual(parseHostSpec('alice@prod'), { user: 'alice', host: 'prod' });
      assert.deepEqual(parseHostSpec('prod:2201'), { host: 'prod', port: 2201 });
      assert.deepEqual(parseHostSpec('alice@10.0.0.1:2201'), { user: 'alice', host: '10.0.0.1', port: 2201 });
      assert.deepEqual(parseHostSpec('svc.user-1@prod'), { user: 'svc.user-1', host: 'prod' });
    });

    it('reads bracketed IPv6 addresses with and without a port', () => {
      assert.deepEqual(parseHostSpec('[::1]:2201'), { host: '::1', port: 2201 });
      assert.deepEqual(parseHostSpec('root@[fe80::1]'), { user: 'root', host: 'fe80::1' });
    });

    it('accepts ports 1 and 65535 and refuses 0 and 65536', () => {
      assert.equal(parseHostSpec('h:1').port, 1);
      assert.equal(parseHostSpec('h:65535').port, 65535);
      assert.throws(() => parseHostSpec('h:0'), (e: unknown) => e instanceof SnapdebugError && /Port 0 .* out of range/.test(e.message));
      assert.throws(() => parseHostSpec('h:65536'), /out of range/);
    });

    it('refuses malformed specs and users with a sentence naming them', () => {
      for (const bad of ['', 'prod:', 'prod:abc', 'prod:22:33', '@prod', 'alice@', 'a b@prod', 'bob@alice@prod', "x';rm@prod", '[::1', '[::1]:x']) {
        assert.throws(
          () => parseHostSpec(bad),
          (e: unknown) => e instanceof SnapdebugError && e.message.includes(`"${bad}"`),
          `should refuse ${JSON.stringify(bad)}`,
        );
      }
    });
  });

  describe('listConfiguredHosts', () => {
    it('lists explicit aliases in file order, once, skipping wildcards and negations', () => {
      const text = [
        'Host prod staging',
        '  HostName 10.0.0.1',
        'Host *.lab !bad web? *',
        'host lower',
        'Match host matched',
        '  Port 1',
        'Host prod',
        '  # Host commented',
      ].join('\n');
      assert.deepEqual(listConfiguredHosts(text), ['prod', 'staging', 'lower']);
    });

    it('lists nothing for an empty config', () => {
      assert.deepEqual(listConfiguredHosts(''), []);
    });
  });
});
