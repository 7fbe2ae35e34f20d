// shellQuote/shellJoin, the one quoting function: every hostile string must come back from a real
// POSIX shell as exactly the argument it was, and nothing in it may ever be run.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { shellJoin, shellQuote } from '../../../src/core/util/quote';
import { plannedTempDir } from '../helpers';

/** What `sh` reads back as its positional arguments from a quoted command line. */
function echoThroughShell(args: readonly string[]): string[] {
  const out = execFileSync('sh', ['-c', shellJoin(['printf', '%s\\0', ...args])]);
  const fields = out.toString('utf8').split('\0');
  fields.pop(); // printf ends every argument with NUL, so the last field is empty
  return fields;
}

describe('shellQuote / shellJoin', () => {
  const temp = plannedTempDir('quote');
  before(() => temp.create());
  const canary = join(temp.dir, 'pwned');
  after(() => temp.cleanup());

  const hostile: string[] = [
    '',
    ' ',
    '  two  spaces  ',
    'a b',
    "it's",
    "'",
    "''",
    "'\\''",
    '"',
    '"double" quotes',
    '\\',
    'back\\slash\\',
    '$HOME',
    '${HOME}',
    '$(touch CANARY)',
    '`touch CANARY`',
    '; touch CANARY',
    '&& touch CANARY',
    '| touch CANARY',
    '> CANARY',
    '< /etc/passwd',
    'a\nb',
    '\n',
    'line1\nline2\n; touch CANARY',
    'tab\there',
    'cr\rhere',
    '-rf',
    '--force',
    '-',
    '--',
    '*',
    '?',
    '[a-z]*',
    '~',
    '~root',
    '#comment',
    '!',
    '!!',
    '{a,b}',
    '%s%n',
    'a=b',
    'ünïcødé',
    '日本語 テキスト',
    '😀 emoji',
    '\u00a0nbsp',
    '\u202eright-to-left',
    '\x01\x02\x1b[31mred',
    "mixed 'single' and \"double\" $(and) `more`",
  ];

  it('a POSIX shell reads every hostile string back exactly, one argument each', () => {
    const args = hostile.map((s) => s.replace('CANARY', canary));
    assert.deepEqual(echoThroughShell(args), args);
  });

  it('the same holds for each hostile string on its own', () => {
    for (const raw of hostile) {
      const arg = raw.replace('CANARY', canary);
      assert.deepEqual(echoThroughShell([arg]), [arg], `round trip of ${JSON.stringify(arg)}`);
    }
  });

  it('nothing embedded in an argument is ever executed', () => {
    echoThroughShell(hostile.map((s) => s.replace('CANARY', canary)));
    assert.equal(existsSync(canary), false, 'a command substitution or separator ran');
  });

  it('also round-trips through bash, a common login shell on the remote end', () => {
    const args = hostile.map((s) => s.replace('CANARY', canary));
    const out = execFileSync('bash', ['-c', shellJoin(['printf', '%s\\0', ...args])]).toString('utf8').split('\0');
    out.pop();
    assert.deepEqual(out, args);
    assert.equal(existsSync(canary), false);
  });

  it('round-trips every single byte value from 1 to 255 (as UTF-8 text)', () => {
    const all = Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1));
    assert.deepEqual(echoThroughShell(all), all);
    assert.deepEqual(echoThroughShell([all.join('')]), [all.join('')]);
  });

  it('leaves plain words readable and quotes everything else', () => {
    assert.equal(shellQuote('podman'), 'podman');
    assert.equal(shellQuote('/var/lib/x.tar.zst'), '/var/lib/x.tar.zst');
    assert.equal(shellQuote('--leave-running'), '--leave-running');
    assert.equal(shellQuote('user@host:22'), 'user@host:22');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote('$x'), "'$x'");
    assert.equal(shellQuote('~'), "'~'");
  });

  it('refuses a NUL byte, which no shell argument can carry', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL/);
    assert.throws(() => shellQuote('\0'), /NUL/);
    assert.throws(() => shellJoin(['echo', 'ok', 'bad\0']), /NUL/);
  });

  it('refuses an empty argv', () => {
    assert.throws(() => shellJoin([]), /at least a program name/);
  });

  it('joins with single spaces, one quoted word per argument', () => {
    assert.equal(shellJoin(['podman', 'rm', 'a b', "c'd"]), "podman rm 'a b' 'c'\\''d'");
  });

  it('a program name containing "=" is run as that program, not read as a variable assignment', () => {
    // `FOO=bar true` would set FOO and run `true`; the quoted word must name a (missing) program.
    const result = spawnSync('sh', ['-c', shellJoin(['FOO=bar', 'true'])]);
    assert.equal(result.status, 127, 'the first word was read as an assignment and `true` ran');
  });
});
