// Transfers running at once grant and drop their one-time keys in the same authorized_keys (the
// lab found two Snapshot & Debug runs leaving one key behind: two drops rewrote the file
// interleaved, the second putting back the key the first had removed). The real scripts, run
// concurrently against a home folder of their own: every dropped key is gone, every granted one
// stays, nothing else changes.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupLib, prelude } from '../../../src/core/remote/shellLib';
import { authorizeScript } from '../../../src/core/snapshot/hostToHostScripts';

function sh(home: string, script: string, args: string[]): Promise<number | null> {
  const child = spawn('sh', ['-c', script, 'sh', 'root', ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', resolve));
}

const keyBlob = (n: number) => Buffer.alloc(51, n).toString('base64');

describe('one-time keys in authorized_keys, many transfers at once', function () {
  this.timeout(60_000);
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'snapdebug-authkeys-'));
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAAperson person@laptop\n', { mode: 0o600 });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const grant = async (n: number) => {
    const work = join(home, `w${n}`);
    mkdirSync(work, { mode: 0o700 });
    writeFileSync(join(work, 'serve'), '');
    const expires = String(Math.floor(Date.now() / 1000) + 600);
    return sh(home, authorizeScript, [work, `snapdebug-fetch-${n.toString(16).padStart(12, '0')}`, expires, '10.77.0.12', 'ssh-ed25519', keyBlob(n)]);
  };
  const drop = (n: number) => sh(home, `${prelude}${cleanupLib}drop_authkey "$1"`, [`snapdebug-fetch-${n.toString(16).padStart(12, '0')}`]);
  const tags = () =>
    readFileSync(join(home, '.ssh', 'authorized_keys'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ').at(-1));

  it('30 drops and 10 grants at once: exactly the granted keys and the person\'s own remain', async () => {
    const first = Array.from({ length: 30 }, (_, i) => i + 1);
    assert.deepEqual(await Promise.all(first.map(grant)), first.map(() => 0));
    const later = Array.from({ length: 10 }, (_, i) => i + 100);
    const codes = await Promise.all([...first.map(drop), ...later.map(grant)]);
    assert.deepEqual(codes, codes.map(() => 0));
    assert.deepEqual(tags().sort(), ['person@laptop', ...later.map((n) => `snapdebug-fetch-${n.toString(16).padStart(12, '0')}`)].sort());
  });
});
