// Hosts from ssh_config, with files in a temporary HOME: what we honour, what we refuse (and how
// the refusal reads), which files are read, tokens and names. Matching itself is compared with
// OpenSSH's own reading in sshConfigOpenssh.test.ts.
import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { listConfiguredHosts, loadSshConfig, parseHostSpec, resolveHost, type HostTarget, type LocalContext } from '../../../src/core/ssh/sshConfig';
import { SnapdebugError } from '../../../src/core/util/errors';
import { plannedTempDir } from '../helpers';

describe('ssh_config', () => {
  const temp = plannedTempDir('sshconfig');
  const home = join(temp.dir, 'home');
  const sshDir = join(home, '.ssh');
  const local: LocalContext = { home, user: 'localuser', uid: 1234, hostname: 'desk.example.org', env: { SSH_AUTH_SOCK: '/run/agent.sock', KEYS: '/srv/keys' } };
  const savedHome = process.env.HOME;
  before(() => {
    temp.create();
    mkdirSync(join(sshDir, 'config.d'), { recursive: true });
    // os.homedir() follows HOME: relative Includes of text configs land in the temp dir too.
    process.env.HOME = home;
  });
  after(() => {
    process.env.HOME = savedHome;
    temp.cleanup();
  });
  const resolve = (spec: string, text: string) => resolveHost(spec, text, local);
  const refusal = (pattern: RegExp) => (e: unknown) => e instanceof SnapdebugError && pattern.test(e.message);

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
      'Host *',
      '  User fallback',
      '  IdentityAgent none',
    ].join('\n');

    it('reads every keyword we honour from the first block that gives it', () => {
      assert.deepEqual(resolve('prod', config), {
        alias: 'prod',
        hostName: '10.0.0.1',
        port: 2201,
        user: 'alice',
        identityFiles: [join(sshDir, 'prod_key'), join(sshDir, 'id_10.0.0.1_2201_alice_prod')],
        identitiesOnly: true,
        identityAgent: undefined,
        proxyJump: 'bastion',
        userKnownHostsFiles: [join(sshDir, 'known_hosts'), join(sshDir, 'lab_known_hosts'), '/etc/ssh/extra_known_hosts'],
        globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
        strictHostKeyChecking: 'yes',
        hostKeyAlias: 'prod-key',
        hashKnownHosts: false,
        connectTimeoutMs: 5000,
      } satisfies HostTarget);
    });

    it('uses OpenSSH defaults for a host the config does not mention', () => {
      writeFileSync(join(sshDir, 'id_ed25519'), 'not a real key\n', { mode: 0o600 });
      writeFileSync(join(sshDir, 'id_rsa'), 'not a real key\n', { mode: 0o600 });
      const target = resolve('elsewhere', '');
      assert.equal(target.user, 'localuser');
      assert.equal(target.port, 22);
      assert.deepEqual(target.identityFiles, [join(sshDir, 'id_ed25519'), join(sshDir, 'id_rsa')]);
      assert.deepEqual(target.userKnownHostsFiles, [join(sshDir, 'known_hosts'), join(sshDir, 'known_hosts2')]);
      assert.equal(target.identityAgent, '/run/agent.sock');
      assert.equal(target.strictHostKeyChecking, 'ask');
      assert.equal(target.connectTimeoutMs, 15_000);
    });

    it('a user or port in the spec overrides the config, and %n is the host without them', () => {
      const target = resolve('bob@prod:2222', config);
      assert.equal(target.user, 'bob');
      assert.equal(target.port, 2222);
      assert.deepEqual(target.identityFiles, [join(sshDir, 'prod_key'), join(sshDir, 'id_10.0.0.1_2222_bob_prod')]);
    });

    it('expands every path token OpenSSH documents, ${VAR}, ~ and %%', () => {
      const target = resolve('web', 'Host web\n  HostName Web.Example\n  HostKeyAlias WebKey\n  IdentityFile ${KEYS}/%u_%i_%d_%L_%l_%k_100%%\n  UserKnownHostsFile ~/kh_%C\n');
      assert.deepEqual(target.identityFiles, [`/srv/keys/localuser_1234_${home}_desk_desk.example.org_webkey_100%`]);
      const hash = createHash('sha1').update('desk.example.orgweb.example22localuser').digest('hex');
      assert.deepEqual(target.userKnownHostsFiles, [join(home, `kh_${hash}`)]);
    });

    it('refuses an unknown token, an unset variable and ~user, naming the config line', () => {
      assert.throws(() => resolve('x', 'Host x\n  IdentityFile /k/%z\n'), refusal(/line 2 .*%z is not a token/));
      assert.throws(() => resolve('x', 'Host x\n  IdentityFile ${NOPE}/k\n'), refusal(/NOPE is not set/));
      assert.throws(() => resolve('x', 'Host x\n  UserKnownHostsFile ~bob/kh\n'), refusal(/not "~bob"/));
      assert.throws(() => resolve('x', 'Host x\n  HostName %p.example\n'), refusal(/%p is not a token/));
    });

    it('UserKnownHostsFile none means no user file at all (no file called "none")', () => {
      const target = resolve('x', 'Host x\n  UserKnownHostsFile none\n  GlobalKnownHostsFile none\n');
      assert.deepEqual(target.userKnownHostsFiles, []);
      assert.deepEqual(target.globalKnownHostsFiles, []);
    });

    it('IdentityAgent: none, SSH_AUTH_SOCK, $VAR and paths', () => {
      assert.equal(resolve('x', 'Host x\n  IdentityAgent none\n').identityAgent, undefined);
      assert.equal(resolve('x', 'Host x\n  IdentityAgent SSH_AUTH_SOCK\n').identityAgent, '/run/agent.sock');
      assert.equal(resolve('x', 'Host x\n  IdentityAgent $KEYS\n').identityAgent, '/srv/keys');
      assert.equal(resolve('x', 'Host x\n  IdentityAgent ~/agent-%r.sock\n').identityAgent, join(home, 'agent-localuser.sock'));
    });

    it('unwraps ssh:// ProxyJump hops, and ProxyJump none means none', () => {
      assert.equal(resolve('x', 'Host x\n  ProxyJump ssh://bob@j1:2200,j2\n').proxyJump, 'bob@j1:2200,j2');
      assert.equal(resolve('x', 'Host x\n  ProxyJump none\n').proxyJump, undefined);
    });

    it('HashKnownHosts yes asks for hashed known_hosts lines', () => {
      assert.equal(resolve('x', 'HashKnownHosts yes\n').hashKnownHosts, true);
    });
  });

  describe('refused, never dropped', () => {
    const cases: [string, string, RegExp][] = [
      ['ProxyCommand', 'Host x\n  ProxyCommand nc %h %p\n', /line 2 \(for x\): ProxyCommand nc %h %p applies to x, and snapdebug does not run proxy commands/],
      ['KnownHostsCommand', 'KnownHostsCommand /bin/keys %H\n', /line 1 \(for x\): KnownHostsCommand .* does not run commands to find host keys/],
      ['CanonicalizeHostname', 'Host *\n  CanonicalizeHostname yes\n  CanonicalDomains example.com\n', /CanonicalizeHostname yes applies to x/],
      ['CertificateFile', 'Host x\n  CertificateFile ~/.ssh/id-cert.pub\n', /CertificateFile .* cannot log in with SSH certificates/],
      ['PKCS11Provider', 'PKCS11Provider /usr/lib/opensc-pkcs11.so\n', /PKCS11Provider .* PKCS#11/],
      ['BindAddress', 'Host x\n  BindAddress 10.0.0.9\n', /BindAddress 10\.0\.0\.9 applies to x/],
      ['RevokedHostKeys', 'RevokedHostKeys ~/.ssh/revoked\n', /RevokedHostKeys .* revoked-key lists/],
    ];
    for (const [keyword, text, message] of cases) {
      it(`${keyword} that applies to the host is refused with a sentence naming it, the file and the host`, () => {
        assert.throws(() => resolve('x', text), refusal(message));
      });
    }

    it('Match exec is refused where it would decide, and never run', () => {
      const canary = join(temp.dir, 'match-exec-ran');
      assert.throws(() => resolve('prod', `Match exec "touch ${canary}"\n  User evil\n`), refusal(/line 1: Match exec decides whether this block applies to prod, and snapdebug never runs commands/));
      assert.throws(() => resolve('prod', `Match host prod !exec "touch ${canary}"\n  User evil\n`), refusal(/Match exec/));
      assert.equal(existsSync(canary), false);
    });

    it('Match criteria we do not evaluate are refused the same way', () => {
      assert.throws(() => resolve('x', 'Match localnetwork 10.0.0.0/8\n  Port 1\n'), refusal(/Match localnetwork/));
      assert.throws(() => resolve('x', 'Match tagged web\n  Port 1\n'), refusal(/Match tagged/));
    });

    it('what does not apply to the host is no obstacle', () => {
      const text = [
        'Host other',
        '  ProxyCommand nc %h %p',
        'Match host other exec "false"',
        '  User evil',
        'Host x',
        '  ProxyJump bastion',
        '  ProxyCommand nc %h %p', // ignored by ssh too: ProxyJump came first
        '  CanonicalizeHostname no',
        '  KnownHostsCommand none',
        'Host y',
        '  ProxyCommand none',
      ].join('\n');
      assert.equal(resolve('x', text).proxyJump, 'bastion');
      assert.equal(resolve('y', text).proxyJump, undefined);
    });
  });

  describe('names written into known_hosts', () => {
    for (const [what, text] of [
      ['HostKeyAlias foo,* (a key for every host)', 'Host x\n  HostKeyAlias foo,*\n'],
      ['HostKeyAlias with ?', 'Host x\n  HostKeyAlias web?\n'],
      ['HostKeyAlias with !', 'Host x\n  HostKeyAlias !x\n'],
      ['HostKeyAlias with |', 'Host x\n  HostKeyAlias |1|abc\n'],
      ['HostKeyAlias with whitespace', 'Host x\n  HostKeyAlias "a b"\n'],
      ['HostName with *', 'Host x\n  HostName *.example\n'],
      ['HostName with a comma', 'Host x\n  HostName a,b\n'],
    ]) {
      it(`refuses ${what} before any key is looked up or recorded`, () => {
        assert.throws(() => resolve('x', text!), refusal(/is not a plain host name .* refuses it before any host key is looked up or recorded/));
      });
    }
  });

  describe('which files are read', () => {
    it('an explicitly named file that does not exist is an error', () => {
      assert.throws(() => loadSshConfig({ file: join(temp.dir, 'no-such-config'), home }), refusal(/no-such-config does not exist/));
    });

    it('a missing ~/.ssh/config is fine; the system-wide file still counts', () => {
      const system = join(temp.dir, 'system_config');
      writeFileSync(system, 'Host *\n  Port 2022\n');
      const config = loadSshConfig({ home: join(temp.dir, 'nobody'), systemFile: system });
      assert.equal(resolveHost('x', config, local).port, 2022);
    });

    it('~/.ssh/config comes before the system-wide file; a named file replaces both, like ssh -F', () => {
      const system = join(temp.dir, 'system_config2');
      writeFileSync(system, 'Host *\n  Port 2022\n  User system\n');
      writeFileSync(join(sshDir, 'config'), 'Host *\n  User mine\n');
      const both = loadSshConfig({ home, systemFile: system });
      assert.deepEqual([resolveHost('x', both, local).user, resolveHost('x', both, local).port], ['mine', 2022]);
      const named = join(temp.dir, 'named');
      writeFileSync(named, 'Host *\n  User named\n');
      const only = loadSshConfig({ file: named, home, systemFile: system });
      assert.deepEqual([resolveHost('x', only, local).user, resolveHost('x', only, local).port], ['named', 22]);
    });

    it('refuses a ~/.ssh/config that others can write, as ssh does', () => {
      const other = join(temp.dir, 'open-home');
      mkdirSync(join(other, '.ssh'), { recursive: true });
      writeFileSync(join(other, '.ssh', 'config'), 'Host *\n  User x\n');
      chmodSync(join(other, '.ssh', 'config'), 0o666);
      assert.throws(() => loadSshConfig({ home: other, systemFile: null }), refusal(/could be changed by another user .* mode 666/));
    });

    it('a system-wide file may not Include with ~', () => {
      const system = join(temp.dir, 'system_config3');
      writeFileSync(system, 'Include ~/.ssh/extra\n');
      assert.throws(() => loadSshConfig({ home: join(temp.dir, 'nobody'), systemFile: system }), refusal(/~ is not allowed in the system-wide configuration/));
    });

    it('Include inside a Host block keeps the lines after it in that block', () => {
      writeFileSync(join(sshDir, 'config.d', 'common.conf'), 'User included\n');
      const text = 'Host prod\n  Include config.d/common.conf\n  Port 2201\n  HostName 10.0.0.1\nHost *\n  Port 1\n';
      const prod = resolve('prod', text);
      assert.deepEqual([prod.user, prod.port, prod.hostName], ['included', 2201, '10.0.0.1']);
      assert.deepEqual([resolve('web', text).user, resolve('web', text).port], ['localuser', 1]);
    });
  });

  describe('parseHostSpec', () => {
    it('splits user@host:port and its shorter forms', () => {
      assert.deepEqual(parseHostSpec('prod'), { host: 'prod' });
      assert.deepEqual(parseHostSpec('alice@prod'), { user: 'alice', host: 'prod' });
      assert.deepEqual(parseHostSpec('prod:2201'), { host: 'prod', port: 2201 });
      assert.deepEqual(parseHostSpec('alice@10.0.0.1:2201'), { user: 'alice', host: '10.0.0.1', port: 2201 });
      assert.deepEqual(parseHostSpec('[::1]:2201'), { host: '::1', port: 2201 });
      assert.deepEqual(parseHostSpec('root@[fe80::1]'), { user: 'root', host: 'fe80::1' });
    });

    it('accepts ports 1 and 65535 and refuses 0 and 65536', () => {
      assert.equal(parseHostSpec('h:65535').port, 65535);
      assert.throws(() => parseHostSpec('h:0'), refusal(/Port 0 .* out of range/));
      assert.throws(() => parseHostSpec('h:65536'), /out of range/);
    });

    it('refuses malformed specs and users with a sentence naming them', () => {
      for (const bad of ['', 'prod:', 'prod:abc', '@prod', 'alice@', 'a b@prod', "x';rm@prod", '[::1', 'a,b', 'web*', 'a|b', '!x']) {
        assert.throws(() => parseHostSpec(bad), (e: unknown) => e instanceof SnapdebugError && e.message.includes(`"${bad}"`), `should refuse ${JSON.stringify(bad)}`);
      }
    });
  });

  describe('listConfiguredHosts', () => {
    it('lists explicit aliases in file order, once, included files too, skipping patterns', () => {
      writeFileSync(join(sshDir, 'config.d', 'hosts.conf'), 'Host inc1 inc2\n');
      const text = ['Host prod staging', 'Host *.lab !bad web? *', 'host lower', 'Match host matched', '  Port 1', 'Host a,b', 'Host prod', '  Include config.d/hosts.conf', '  # Host commented'].join('\n');
      assert.deepEqual(listConfiguredHosts(text), ['prod', 'staging', 'lower', 'inc1', 'inc2']);
      assert.deepEqual(listConfiguredHosts(''), []);
    });
  });
});
