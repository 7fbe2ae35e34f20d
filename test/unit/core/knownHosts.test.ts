// known_hosts as OpenSSH reads it, checked against OpenSSH itself where it can say: ssh-keygen
// hashes and finds entries and prints fingerprints, and our answers must agree with it.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintOf,
  hostToken,
  keyTypeOf,
  knownKeyTypes,
  parseKnownHosts,
  patternsMatch,
  readKnownHostsFiles,
} from '../../../src/core/ssh/knownHosts';
import { plannedTempDir } from '../helpers';

interface TestKey {
  type: string;
  base64: string;
  blob: Buffer;
  pubFile: string;
}

function generateKey(dir: string, name: string, type: 'ed25519' | 'ecdsa' | 'rsa'): TestKey {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', name, '-f', file]);
  const [keyType, base64] = readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/);
  return { type: keyType!, base64: base64!, blob: Buffer.from(base64!, 'base64'), pubFile: `${file}.pub` };
}

/** A hashed host field made the way OpenSSH makes it: |1|base64(salt)|base64(HMAC-SHA1(salt, name)). */
function hashName(name: string, salt = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  const temp = plannedTempDir('knownhosts');
  before(() => temp.create());
  let ed: TestKey;
  let ed2: TestKey;
  let ecdsa: TestKey;
  let rsa: TestKey;

  before(function () {
    this.timeout(30_000);
    ed = generateKey(temp.dir, 'ed', 'ed25519');
    ed2 = generateKey(temp.dir, 'ed2', 'ed25519');
    ecdsa = generateKey(temp.dir, 'ecdsa', 'ecdsa');
    rsa = generateKey(temp.dir, 'rsa', 'rsa');
  });
  after(() => temp.cleanup());

  describe('parseKnownHosts', () => {
    it('reads host field, key type, key and 1-based line, skipping comments, blanks and malformed lines', () => {
      const text = [
        '# a comment',
        '',
        'prod,10.0.0.1 ssh-ed25519 AAAAkey1 a comment',
        'malformed-line-only-one-field',
        'host-without-key ssh-ed25519',
        '   [127.0.0.1]:2201 ecdsa-sha2-nistp256 AAAAkey2\r',
        '@revoked * ssh-ed25519 AAAAkey3',
        '@cert-authority *.example.com ssh-ed25519 AAAAkey4',
      ].join('\n');
      const entries = parseKnownHosts(text, '/k');
      assert.deepEqual(entries, [
        { file: '/k', line: 3, marker: undefined, patterns: 'prod,10.0.0.1', keyType: 'ssh-ed25519', keyBase64: 'AAAAkey1' },
        { file: '/k', line: 6, marker: undefined, patterns: '[127.0.0.1]:2201', keyType: 'ecdsa-sha2-nistp256', keyBase64: 'AAAAkey2' },
        { file: '/k', line: 7, marker: 'revoked', patterns: '*', keyType: 'ssh-ed25519', keyBase64: 'AAAAkey3' },
        { file: '/k', line: 8, marker: 'cert-authority', patterns: '*.example.com', keyType: 'ssh-ed25519', keyBase64: 'AAAAkey4' },
      ]);
    });

    it('readKnownHostsFiles reads several files in order and ignores missing ones', () => {
      const a = join(temp.dir, 'kh-a');
      const b = join(temp.dir, 'kh-b');
      writeFileSync(a, `alpha ${ed.type} ${ed.base64}\n`);
      writeFileSync(b, `# header\nbeta ${rsa.type} ${rsa.base64}\n`);
      const entries = readKnownHostsFiles([a, join(temp.dir, 'does-not-exist'), b]);
      assert.deepEqual(
        entries.map((e) => [e.file, e.line, e.patterns]),
        [
          [a, 1, 'alpha'],
          [b, 2, 'beta'],
        ],
      );
    });
  });

  describe('hostToken and patternsMatch', () => {
    it('uses the bare name on port 22 and [host]:port elsewhere', () => {
      assert.equal(hostToken('prod', 22), 'prod');
      assert.equal(hostToken('127.0.0.1', 2201), '[127.0.0.1]:2201');
    });

    it('matches comma-separated names, wildcards and case-insensitively', () => {
      assert.ok(patternsMatch('prod,10.0.0.1', 'prod'));
      assert.ok(patternsMatch('prod,10.0.0.1', '10.0.0.1'));
      assert.ok(patternsMatch('PROD', 'prod'));
      assert.ok(patternsMatch('*.lab', 'web.lab'));
      assert.ok(patternsMatch('web?.lab', 'web1.lab'));
      assert.ok(!patternsMatch('web?.lab', 'web10.lab'));
      assert.ok(!patternsMatch('prod', 'prod2'));
      assert.ok(!patternsMatch('prod', '[prod]:2222'), 'a name on port 22 does not cover other ports');
      assert.ok(patternsMatch('[127.0.0.1]:2201', '[127.0.0.1]:2201'));
      assert.ok(!patternsMatch('[127.0.0.1]:2201', '[127.0.0.1]:2202'));
    });

    it('a matching negation wins over everything else on the line', () => {
      assert.ok(patternsMatch('*.lab,!bad.lab', 'good.lab'));
      assert.ok(!patternsMatch('*.lab,!bad.lab', 'bad.lab'));
      assert.ok(!patternsMatch('!bad.lab,*.lab', 'bad.lab'), 'order on the line does not matter');
      assert.ok(!patternsMatch('!bad.lab', 'other.lab'), 'a negation alone matches nothing');
    });

    it('matches hashed names by HMAC-SHA1 of the token, and nothing else', () => {
      const field = hashName('[127.0.0.1]:2201');
      assert.ok(patternsMatch(field, '[127.0.0.1]:2201'));
      assert.ok(!patternsMatch(field, '127.0.0.1'));
      assert.ok(!patternsMatch(field, '[127.0.0.1]:2202'));
      assert.ok(!patternsMatch('|2|abc|def', 'x'), 'an unknown hash scheme matches nothing');
      assert.ok(!patternsMatch('|1|', 'x'), 'a broken hashed field matches nothing');
    });
  });

  describe('checkHostKey', () => {
    it('trusts an exact plain match and says where it was found', () => {
      const entries = parseKnownHosts(`other ${rsa.type} ${rsa.base64}\nprod,10.0.0.1 ${ed.type} ${ed.base64}\n`, '/kh');
      assert.deepEqual(checkHostKey(entries, 'prod', 22, ed.type, ed.base64), { status: 'trusted', file: '/kh', line: 2 });
      assert.deepEqual(checkHostKey(entries, '10.0.0.1', 22, ed.type, ed.base64), { status: 'trusted', file: '/kh', line: 2 });
    });

    it('trusts [host]:port entries only on that port', () => {
      const entries = parseKnownHosts(`[127.0.0.1]:2201 ${ed.type} ${ed.base64}\n`, '/kh');
      assert.equal(checkHostKey(entries, '127.0.0.1', 2201, ed.type, ed.base64).status, 'trusted');
      assert.equal(checkHostKey(entries, '127.0.0.1', 2202, ed.type, ed.base64).status, 'unknown');
      assert.equal(checkHostKey(entries, '127.0.0.1', 22, ed.type, ed.base64).status, 'unknown');
    });

    it('trusts a hashed entry made with HMAC-SHA1', () => {
      const entries = parseKnownHosts(`${hashName('[127.0.0.1]:2201')} ${ed.type} ${ed.base64}\n`, '/kh');
      assert.deepEqual(checkHostKey(entries, '127.0.0.1', 2201, ed.type, ed.base64), { status: 'trusted', file: '/kh', line: 1 });
      assert.equal(checkHostKey(entries, '127.0.0.2', 2201, ed.type, ed.base64).status, 'unknown');
    });

    it('trusts entries hashed by OpenSSH (ssh-keygen -H) and finds nothing for other hosts', () => {
      const file = join(temp.dir, 'known_hosts_hashed');
      writeFileSync(
        file,
        [`prod ${ed.type} ${ed.base64}`, `[127.0.0.1]:2201 ${ecdsa.type} ${ecdsa.base64}`, `*.lab,!bad.lab ${rsa.type} ${rsa.base64}`, ''].join('\n'),
      );
      execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
      const text = readFileSync(file, 'utf8');
      assert.ok(!/\bprod\b/.test(text) && !text.includes('127.0.0.1'), 'ssh-keygen -H left a plain name behind');
      const entries = readKnownHostsFiles([file]);
      assert.equal(checkHostKey(entries, 'prod', 22, ed.type, ed.base64).status, 'trusted');
      assert.equal(checkHostKey(entries, '127.0.0.1', 2201, ecdsa.type, ecdsa.base64).status, 'trusted');
      assert.equal(checkHostKey(entries, '127.0.0.1', 22, ecdsa.type, ecdsa.base64).status, 'unknown');
      assert.equal(checkHostKey(entries, 'staging', 22, ed.type, ed.base64).status, 'unknown');
      // ssh-keygen -H leaves wildcard lines alone (they cannot be hashed): they still work.
      assert.equal(checkHostKey(entries, 'web.lab', 22, rsa.type, rsa.base64).status, 'trusted');
      assert.equal(checkHostKey(entries, 'bad.lab', 22, rsa.type, rsa.base64).status, 'unknown');
    });

    it('trusts wildcard entries and honours negations', () => {
      const entries = parseKnownHosts(`*.lab,!bad.lab ${ed.type} ${ed.base64}\n`, '/kh');
      assert.equal(checkHostKey(entries, 'web.lab', 22, ed.type, ed.base64).status, 'trusted');
      assert.equal(checkHostKey(entries, 'bad.lab', 22, ed.type, ed.base64).status, 'unknown');
    });

    it('reports a different key of the same type as changed, with file and line', () => {
      const entries = parseKnownHosts(`# first\nprod ${ed.type} ${ed.base64}\n`, '/home/u/.ssh/known_hosts');
      assert.deepEqual(checkHostKey(entries, 'prod', 22, ed2.type, ed2.base64), {
        status: 'changed',
        file: '/home/u/.ssh/known_hosts',
        line: 2,
        knownType: 'ssh-ed25519',
      });
    });

    it('reports a key of another type than the ones known for the host as changed', () => {
      const entries = parseKnownHosts(`prod ${rsa.type} ${rsa.base64}\n`, '/kh');
      assert.deepEqual(checkHostKey(entries, 'prod', 22, ed.type, ed.base64), { status: 'changed', file: '/kh', line: 1, knownType: 'ssh-rsa' });
    });

    it('finds the matching line when the host has several key types', () => {
      const entries = parseKnownHosts(`prod ${rsa.type} ${rsa.base64}\nprod ${ed.type} ${ed.base64}\n`, '/kh');
      assert.deepEqual(checkHostKey(entries, 'prod', 22, ed.type, ed.base64), { status: 'trusted', file: '/kh', line: 2 });
      assert.deepEqual(checkHostKey(entries, 'prod', 22, ed2.type, ed2.base64), { status: 'changed', file: '/kh', line: 2, knownType: ed.type });
    });

    it('reports a host with no entry as unknown', () => {
      const entries = parseKnownHosts(`other ${ed.type} ${ed.base64}\n`, '/kh');
      assert.deepEqual(checkHostKey(entries, 'prod', 22, ed.type, ed.base64), { status: 'unknown', knownTypes: [] });
      assert.deepEqual(checkHostKey([], 'prod', 22, ed.type, ed.base64), { status: 'unknown', knownTypes: [] });
    });

    it('@revoked wins even when another line trusts the same key', () => {
      const entries = parseKnownHosts(`prod ${ed.type} ${ed.base64}\n@revoked * ${ed.type} ${ed.base64}\n`, '/kh');
      assert.deepEqual(checkHostKey(entries, 'prod', 22, ed.type, ed.base64), { status: 'revoked', file: '/kh', line: 2 });
    });

    it('@revoked of one key does not affect other keys', () => {
      const entries = parseKnownHosts(`prod ${ed.type} ${ed.base64}\n@revoked * ${ed2.type} ${ed2.base64}\n`, '/kh');
      assert.equal(checkHostKey(entries, 'prod', 22, ed.type, ed.base64).status, 'trusted');
    });

    it('never trusts a key because it is a @cert-authority', () => {
      const entries = parseKnownHosts(`@cert-authority prod ${ed.type} ${ed.base64}\n`, '/kh');
      assert.equal(checkHostKey(entries, 'prod', 22, ed.type, ed.base64).status, 'unknown');
    });

    it('knownKeyTypes lists the distinct types recorded for a host, plain or hashed', () => {
      const entries = parseKnownHosts(
        [
          `prod ${ed.type} ${ed.base64}`,
          `${hashName('prod')} ${ecdsa.type} ${ecdsa.base64}`,
          `prod,other ${ed.type} ${ed2.base64}`,
          `other ${rsa.type} ${rsa.base64}`,
          `@revoked prod ${rsa.type} ${rsa.base64}`,
        ].join('\n'),
        '/kh',
      );
      assert.deepEqual(knownKeyTypes(entries, 'prod', 22), [ed.type, ecdsa.type]);
      assert.deepEqual(knownKeyTypes(entries, 'prod', 2222), []);
    });
  });

  describe('key blobs', () => {
    it('fingerprintOf equals what ssh-keygen -lf prints, for every key type', () => {
      for (const key of [ed, ecdsa, rsa]) {
        const fromOpenSsh = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', key.pubFile], { encoding: 'utf8' }).split(/\s+/)[1];
        assert.equal(fingerprintOf(key.blob), fromOpenSsh);
      }
    });

    it('keyTypeOf reads the type from the start of the blob', () => {
      assert.equal(keyTypeOf(ed.blob), 'ssh-ed25519');
      assert.equal(keyTypeOf(ecdsa.blob), 'ecdsa-sha2-nistp256');
      assert.equal(keyTypeOf(rsa.blob), 'ssh-rsa');
    });
  });

  describe('appendKnownHost', () => {
    it('writes a plain line that we and OpenSSH both find, in a new 0600 file in a new 0700 folder', () => {
      const file = join(temp.dir, 'new-dir', 'known_hosts');
      appendKnownHost(file, '127.0.0.1', 2201, ed.blob);
      assert.equal(readFileSync(file, 'utf8'), `[127.0.0.1]:2201 ssh-ed25519 ${ed.base64}\n`);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(temp.dir, 'new-dir')).mode & 0o777, 0o700);
      const verdict = checkHostKey(readKnownHostsFiles([file]), '127.0.0.1', 2201, ed.type, ed.base64);
      assert.deepEqual(verdict, { status: 'trusted', file, line: 1 });
      const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2201', '-f', file], { encoding: 'utf8' });
      assert.ok(found.includes(ed.base64));
    });

    it('writes a hashed line that we and ssh-keygen -F both match, and that hides the name', () => {
      const file = join(temp.dir, 'hashed', 'known_hosts');
      appendKnownHost(file, '127.0.0.1', 2201, ed.blob, true);
      const text = readFileSync(file, 'utf8');
      assert.match(text, /^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28} ssh-ed25519 \S+\n$/);
      assert.ok(!text.includes('127.0.0.1'));
      assert.deepEqual(checkHostKey(readKnownHostsFiles([file]), '127.0.0.1', 2201, ed.type, ed.base64), { status: 'trusted', file, line: 1 });
      assert.equal(checkHostKey(readKnownHostsFiles([file]), '127.0.0.1', 22, ed.type, ed.base64).status, 'unknown');
      const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2201', '-f', file], { encoding: 'utf8' });
      assert.ok(found.includes(ed.base64), 'ssh-keygen -F did not find the hashed entry');
    });

    it('adds a line break before appending to a file that lacks a final one', () => {
      const file = join(temp.dir, 'no-newline');
      writeFileSync(file, `prod ${rsa.type} ${rsa.base64}`, { mode: 0o600 });
      appendKnownHost(file, 'staging', 22, ed.blob);
      const entries = readKnownHostsFiles([file]);
      assert.deepEqual(
        entries.map((e) => [e.line, e.patterns, e.keyType]),
        [
          [1, 'prod', 'ssh-rsa'],
          [2, 'staging', 'ssh-ed25519'],
        ],
      );
      assert.equal(checkHostKey(entries, 'prod', 22, rsa.type, rsa.base64).status, 'trusted');
    });

    it('appends to an empty file without a blank first line', () => {
      const file = join(temp.dir, 'empty');
      writeFileSync(file, '');
      appendKnownHost(file, 'prod', 22, ed.blob);
      assert.equal(readFileSync(file, 'utf8'), `prod ssh-ed25519 ${ed.base64}\n`);
    });

    it('refuses names known_hosts would read as patterns: a key for "foo,*" would be trusted for every host', () => {
      const file = join(temp.dir, 'patterns');
      for (const name of ['foo,*', '*', 'web?', '!prod', '|1|x|y', 'a b', 'a\tb', '-oProxy', '[h]:1', '']) {
        assert.throws(() => appendKnownHost(file, name, 22, ed.blob), /Refusing to record a host key/, JSON.stringify(name));
      }
      assert.equal(existsSync(file), false, 'nothing was written');
      // What such a line would have done: trusted this key for any host at all.
      assert.equal(checkHostKey(parseKnownHosts(`foo,* ${ed.type} ${ed.base64}\n`, 'x'), 'bank.example', 22, ed.type, ed.base64).status, 'trusted');
    });
  });
});
