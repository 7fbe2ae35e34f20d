// ssh_config resolved by us and by OpenSSH itself: `ssh -G -F FILE HOST` prints what ssh would
// use without connecting. For every config and host of the table below, the two must agree on
// every keyword snapdebug uses; configs ssh rejects, we reject too. (OpenSSH 9.2 here.)
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { loadSshConfig, resolveHost, type HostTarget, type LocalContext } from '../../../src/core/ssh/sshConfig';
import { SnapdebugError } from '../../../src/core/util/errors';
import { plannedTempDir } from '../helpers';

interface Case {
  name: string;
  config: string;
  hosts: string[];
  /** Extra files, by name, in the case's folder (for Include). */
  files?: Record<string, string>;
  /** File modes to set, by name. */
  modes?: Record<string, number>;
  /** The case's folder is $HOME (relative and ~ Includes); known_hosts paths must then be absolute. */
  ownHome?: boolean;
}

const table: Case[] = [
  { name: '? is exactly one character', config: 'Host lab?\n  Port 1111\n', hosts: ['lab', 'lab1', 'lab12', 'labx'] },
  { name: '* is any run, also empty', config: 'Host web*\n  Port 2222\nHost *.lab\n  User lab\n', hosts: ['web', 'web1', 'we', 'a.lab', '.lab', 'lab'] },
  { name: 'Host matches the name as typed, case-sensitively', config: 'Host Prod\n  Port 2222\n', hosts: ['Prod', 'prod', 'PROD'] },
  { name: 'HostName is lowercased, addresses are not', config: 'Host a\n  HostName MyHost.Example\nHost b\n  HostName FE80::AB\nHost c\n  HostName %h.Internal\n', hosts: ['a', 'b', 'c', 'C'] },
  { name: 'a negated pattern excludes the whole Host line, wherever it stands', config: 'Host web* !web9\n  Port 1\nHost !db2 db*\n  Port 2\nHost *\n  Port 3\n', hosts: ['web1', 'web9', 'db1', 'db2', 'x'] },
  { name: 'only negations never match', config: 'Host !a\n  Port 1\n', hosts: ['a', 'b'] },
  { name: 'a comma in a Host pattern is literal', config: 'Host a,b\n  Port 1\n', hosts: ['a', 'b'] },
  { name: 'Match host takes a comma list with negation, ignoring case', config: 'Match host A,b*,!b2\n  Port 1\n', hosts: ['a', 'b1', 'b2', 'c', 'B3'] },
  { name: 'Match host sees HostName, originalhost the name as given', config: 'Host alias\n  HostName Real\nMatch host real\n  Port 1\nMatch originalhost ALIAS\n  User orig\nMatch host alias\n  IdentitiesOnly yes\n', hosts: ['alias', 'real', 'other'] },
  { name: 'Match user sees the spec user or the config user so far', config: 'Host h\n  User bob\nMatch user alice\n  Port 1\nMatch user bob\n  Port 2\nMatch !user bob\n  ConnectTimeout 7\n', hosts: ['h', 'alice@h', 'x', 'alice@x'] },
  { name: 'Match localuser', config: `Match localuser ${userInfo().username}\n  Port 1\nMatch !localuser nobody-here\n  User stranger\n`, hosts: ['a'] },
  { name: 'negated criteria and several criteria together', config: 'Match !host a* user root\n  Port 1\nMatch host b !originalhost b2\n  User bee\n', hosts: ['a1', 'b', 'b2', 'root@c', 'c'] },
  { name: 'Match all, and all after canonical', config: 'Host x\n  Port 1\nMatch all\n  User all\nMatch canonical all\n  ConnectTimeout 9\n', hosts: ['x', 'y'] },
  {
    name: 'Match final: a second pass where Host lines see the final host name',
    config: 'Host x\n  HostName real.example\nMatch final host real.example\n  Port 3000\nHost real.example\n  User finaluser\nMatch final\n  ConnectTimeout 9\nMatch canonical\n  IdentitiesOnly yes\nMatch !final\n  HashKnownHosts yes\n',
    hosts: ['x', 'real.example', 'y'],
  },
  { name: 'first obtained value wins across blocks', config: 'Host web1\n  Port 1\nHost web*\n  Port 2\n  User webuser\nHost *\n  User fallback\n  Port 3\n', hosts: ['web1', 'web2', 'db'] },
  { name: 'a user or port in the spec comes first', config: 'Host h\n  User configured\n  Port 2\n', hosts: ['h', 'root@h', 'h:2201', 'me@h:2201'] },
  {
    name: 'known_hosts lists: first line wins, none, tokens',
    config: 'Host a\n  UserKnownHostsFile /kh/%h_%p_%r %d/x /kh/%n_%%\n  GlobalKnownHostsFile /g1 /g2\nHost b\n  UserKnownHostsFile none\n  GlobalKnownHostsFile none\nHost *\n  UserKnownHostsFile /late\n',
    hosts: ['a', 'bob@a:2200', 'b', 'c'],
  },
  { name: 'IdentityFile adds up across blocks, without duplicates', config: 'Host a\n  IdentityFile /k/one\nHost *\n  IdentityFile /k/two\n  IdentityFile /k/one\n', hosts: ['a', 'b'] },
  { name: 'Keyword=value, spaces around =, quotes, comments, tabs, any case', config: 'HOST=a\n\tport = 2222\nHost b # trailing comment\n  User "quoted user"\n  hostname\t"b.example"\n# Host c\nHost c\n  PORT=3333 # no\n', hosts: ['a', 'b', 'c'] },
  { name: 'CRLF line endings', config: 'Host a\r\n  Port 1234\r\n  User crlf\r\n', hosts: ['a'] },
  { name: 'StrictHostKeyChecking, IdentitiesOnly, HashKnownHosts values', config: 'Host a\n  StrictHostKeyChecking off\nHost b\n  StrictHostKeyChecking true\nHost c\n  StrictHostKeyChecking accept-new\n  IdentitiesOnly true\n  HashKnownHosts no\nHost d\n  StrictHostKeyChecking FALSE\n  HashKnownHosts yes\n', hosts: ['a', 'b', 'c', 'd', 'e'] },
  { name: 'ConnectTimeout in OpenSSH time format', config: 'Host a\n  ConnectTimeout 1m30s\nHost b\n  ConnectTimeout none\nHost c\n  ConnectTimeout 45\n', hosts: ['a', 'b', 'c'] },
  { name: 'HostKeyAlias is lowercased', config: 'Host a\n  HostKeyAlias My-Key\n', hosts: ['a', 'b'] },
  {
    name: 'ProxyJump and ProxyCommand: the first one obtained wins',
    config: 'Host a\n  ProxyJump j1\n  ProxyCommand nc %h %p\nHost b\n  ProxyCommand none\n  ProxyJump j2\nHost c\n  ProxyJump none\n  ProxyJump j3\nHost d\n  ProxyJump alice@j4:2200,j5\n',
    hosts: ['a', 'b', 'c', 'd'],
  },
  { name: 'IgnoreUnknown lets later unknown keywords pass', config: 'IgnoreUnknown Foo*,UseKeychain\nUseKeychain yes\nFooBar baz\nHost a\n  Port 1\n', hosts: ['a'] },
  {
    name: 'Include inside a Host block: only while it applies, and the block goes on after it',
    config: 'Host a\n  Include {dir}/inc-a\n  Port 1111\nHost *\n  User star\n',
    files: { 'inc-a': 'User incuser\nHost b\n  Port 2222\n  HostName included-b\n' },
    hosts: ['a', 'b', 'c'],
  },
  {
    name: 'Include with globs in name order, nested, inside Match',
    config: 'Include {dir}/conf.d/*.conf\nMatch host m*\n  Include {dir}/match.conf\n  ConnectTimeout 5\nHost *\n  Port 9\n',
    files: { 'conf.d/20-b.conf': 'Host shared\n  Port 2002\n', 'conf.d/10-a.conf': 'Host shared\n  Port 1001\n  Include {dir}/nested.conf\n', 'conf.d/notes.txt': 'Host shared\n  Port 3\n', 'nested.conf': 'User nested\n', 'match.conf': 'User matched\n' },
    hosts: ['shared', 'm1', 'x'],
  },
  {
    name: 'relative Includes live in ~/.ssh, ~/ is the home folder',
    config: 'Include inc/rel.conf ~/.ssh/tilde.conf\nHost *\n  UserKnownHostsFile /kh\n',
    files: { '.ssh/inc/rel.conf': 'Host r\n  Port 1\n', '.ssh/tilde.conf': 'Host t\n  Port 2\n' },
    ownHome: true,
    hosts: ['r', 't', 'x'],
  },
  { name: 'HostName with %h, seen by Match host', config: 'Host web*\n  HostName %h.Internal\nMatch host *.internal\n  Port 2000', hosts: ['Web1', 'web2', 'db'] },
  { name: 'an Include that matches nothing is skipped', config: 'Include {dir}/nothing-here*.conf {dir}/missing.conf\nHost a\n  Port 1\n', hosts: ['a'] },
];

/** Configs ssh refuses outright; so must we, with a sentence naming file and line. */
const rejected: Case[] = [
  { name: 'a bad port', config: 'Host a\n  Port abc\n', hosts: ['a'] },
  { name: 'port 0', config: 'Host b\n  Port 0\n', hosts: ['a'] },
  { name: 'none among other known_hosts files', config: 'Host a\n  UserKnownHostsFile /x none\n', hosts: ['zzz'] },
  { name: 'an unclosed quote', config: 'Host a\n  User "oops\n', hosts: ['a'] },
  { name: 'all followed by other criteria', config: 'Match all host x\n  Port 1\n', hosts: ['x'] },
  { name: 'a Match criterion without its argument', config: 'Match host\n  Port 1\n', hosts: ['x'] },
  { name: 'an unknown Match criterion', config: 'Match colour blue\n  Port 1\n', hosts: ['x'] },
  { name: 'an unknown keyword', config: 'Host a\n  Prot 22\n', hosts: ['b'] },
  { name: 'a keyword without a value', config: 'Host a\n  User\n', hosts: ['a'] },
  { name: 'an unsupported StrictHostKeyChecking value', config: 'StrictHostKeyChecking maybe\n', hosts: ['a'] },
  { name: 'a bad time', config: 'ConnectTimeout soon\n', hosts: ['a'] },
  { name: 'extra arguments', config: 'Host a\n  HostName one two\n', hosts: ['a'] },
  { name: 'an Include loop', config: 'Include {dir}/loop.conf\n', files: { 'loop.conf': 'Include {dir}/loop.conf\n' }, hosts: ['a'] },
  { name: 'an included file others can write', config: 'Include {dir}/open.conf\n', files: { 'open.conf': 'Port 1\n' }, modes: { 'open.conf': 0o666 }, hosts: ['a'] },
];

describe('ssh_config against OpenSSH (ssh -G)', function () {
  this.timeout(60_000);
  const temp = plannedTempDir('ssh-g');
  before(() => temp.create());
  after(() => temp.cleanup());
  // ssh expands ~ and %d from the password database, not $HOME: so do we, for this comparison.
  const local: LocalContext = { home: userInfo().homedir, user: userInfo().username, uid: process.getuid!(), hostname: hostname(), env: {} };

  function writeCase(c: Case, index: number): string {
    const dir = join(temp.dir, `case${index}`);
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(c.files ?? {})) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text.replaceAll('{dir}', dir), { mode: 0o600 });
      if (c.modes?.[name] !== undefined) chmodSync(join(dir, name), c.modes[name]!);
    }
    const file = join(dir, 'config');
    writeFileSync(file, c.config.replaceAll('{dir}', dir), { mode: 0o600 });
    return file;
  }

  function sshG(file: string, spec: string, home = local.home): { ok: true; values: Map<string, string[]> } | { ok: false; stderr: string } {
    // Our user@host:port is ssh's -p PORT user@host.
    const port = /:(\d+)$/.exec(spec)?.[1];
    const args = ['-G', '-F', file, ...(port ? ['-p', port] : []), spec.replace(/:\d+$/, '')];
    const result = spawnSync('ssh', args, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home } });
    if (result.status !== 0) return { ok: false, stderr: result.stderr };
    const values = new Map<string, string[]>();
    for (const line of result.stdout.split('\n').filter(Boolean)) {
      const key = line.slice(0, line.indexOf(' '));
      values.set(key, [...(values.get(key) ?? []), line.slice(key.length + 1)]);
    }
    return { ok: true, values };
  }

  /** Our target in ssh -G's words, for the keywords we use. */
  function asSshG(target: HostTarget, configured: (keyword: string) => boolean): Record<string, string | undefined> {
    const strict = { yes: 'true', no: 'false', ask: 'ask', 'accept-new': 'accept-new' }[target.strictHostKeyChecking];
    return {
      hostname: target.hostName,
      port: String(target.port),
      user: target.user,
      proxyjump: target.proxyJump,
      hostkeyalias: target.hostKeyAlias,
      // ssh -G says none where we keep our default of 15 s (no case below sets 15).
      connecttimeout: target.connectTimeoutMs === 15_000 ? 'none' : String(target.connectTimeoutMs / 1000),
      stricthostkeychecking: strict,
      identitiesonly: target.identitiesOnly ? 'yes' : 'no',
      hashknownhosts: target.hashKnownHosts ? 'yes' : 'no',
      userknownhostsfile: target.userKnownHostsFiles.length === 0 ? 'none' : target.userKnownHostsFiles.join(' '),
      globalknownhostsfile: target.globalKnownHostsFiles.length === 0 ? 'none' : target.globalKnownHostsFiles.join(' '),
      ...(configured('identityfile') && { identityfile: target.identityFiles.join(' ') }),
    };
  }

  table.forEach((c, index) => {
    it(c.name, () => {
      const file = writeCase(c, index);
      const home = c.ownHome ? dirname(file) : local.home;
      for (const host of c.hosts) {
        const ssh = sshG(file, host, home);
        assert.ok(ssh.ok, `ssh -G refused ${host}: ${!ssh.ok && ssh.stderr}`);
        const ours = resolveHost(host, loadSshConfig({ file, home }), { ...local, home });
        const configured = (keyword: string) => new RegExp(`^\\s*${keyword}\\b`, 'im').test(c.config) || Object.values(c.files ?? {}).some((t) => new RegExp(`^\\s*${keyword}\\b`, 'im').test(t));
        const expected = Object.fromEntries(Object.keys(asSshG(ours, configured)).map((k) => [k, ssh.values.get(k)?.join(' ')]));
        assert.deepEqual(asSshG(ours, configured), expected, `for ${host}`);
      }
    });
  });

  describe('configs ssh rejects', () => {
    rejected.forEach((c, index) => {
      it(`rejects ${c.name}, naming the file`, () => {
        const file = writeCase(c, 100 + index);
        for (const host of c.hosts) {
          const ssh = sshG(file, host);
          assert.equal(ssh.ok, false, `ssh -G accepted ${host}`);
          assert.throws(
            () => resolveHost(host, loadSshConfig({ file }), local),
            (e: unknown) => e instanceof SnapdebugError && e.message.includes(file.replace(/config$/, '')),
            `we accepted ${host}`,
          );
        }
      });
    });
  });
});
