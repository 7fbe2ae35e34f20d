// Host keys against the real lab sshd: a changed or revoked key is refused during key exchange,
// before any credential is offered; hashed entries are honoured; an unknown key is refused by the
// CLI with its fingerprint, and recorded only when --accept-new-host-key says so.
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labFiles, labHosts } from '../../lab/paths';
import { SshPool } from '../../src/core/ssh/pool';
import { SshRunner } from '../../src/core/ssh/runner';

const run = promisify(execFile);

describe('host keys (lab sshd)', function () {
  this.timeout(60_000);
  let dir: string;
  const asked: string[] = [];
  const recordingPrompts = {
    confirmHostKey: async () => {
      asked.push('host key');
      return false;
    },
    passphrase: async () => {
      asked.push('passphrase');
      return undefined;
    },
    password: async () => {
      asked.push('password');
      return undefined;
    },
  };
  const prodPort = labHosts[0]!.sshPort;
  const realLine = () => readFileSync(labFiles.knownHosts, 'utf8').split('\n').find((l) => l.startsWith(`[127.0.0.1]:${prodPort}`))!;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snapdebug-keys-'));
    asked.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** An ssh_config for prod with the lab's (valid) key and a known_hosts file of our making. */
  function config(knownHosts: string): string {
    const file = join(dir, 'ssh_config');
    writeFileSync(file, `Host prod\n  HostName 127.0.0.1\n  Port ${prodPort}\n  User root\n  IdentityFile ${labFiles.privateKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${knownHosts}\n`);
    return file;
  }

  async function hostnameVia(sshConfigFile: string): Promise<string> {
    const pool = new SshPool(recordingPrompts, { sshConfigFile });
    try {
      return (await new SshRunner('prod', pool.connection('prod')).run(['hostname'])).stdout.trim();
    } finally {
      pool.dispose();
    }
  }

  it('a changed host key is refused before authentication, naming the file and line', async () => {
    const knownHosts = join(dir, 'known_hosts');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'impostor')]);
    const impostor = readFileSync(join(dir, 'impostor.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `# someone else's key\n[127.0.0.1]:${prodPort} ${impostor}\n`);
    // The identity is valid: had authentication run, the command would have succeeded.
    await assert.rejects(() => hostnameVia(config(knownHosts)), (error: Error) => {
      assert.match(error.message, new RegExp(`host key of prod \\(127\\.0\\.0\\.1:${prodPort}\\) has changed`));
      assert.match(error.message, new RegExp(`${knownHosts.replace(/[/.]/g, '\\$&')} line 2`));
      return true;
    });
    assert.deepEqual(asked, [], 'nothing was asked: no prompt, no credential');
  });

  it('a revoked key is refused even when another line trusts it', async () => {
    const knownHosts = join(dir, 'known_hosts');
    const [, type, key] = realLine().split(' ');
    writeFileSync(knownHosts, `${realLine()}\n@revoked * ${type} ${key}\n`);
    await assert.rejects(() => hostnameVia(config(knownHosts)), /revoked/);
  });

  it('hashed known_hosts entries (ssh-keygen -H) are honoured', async () => {
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, realLine() + '\n');
    execFileSync('ssh-keygen', ['-q', '-H', '-f', knownHosts]);
    assert.match(readFileSync(knownHosts, 'utf8'), /^\|1\|/);
    assert.equal(await hostnameVia(config(knownHosts)), 'prod');
  });

  it('the CLI refuses an unknown key with its fingerprint, and records it only with --accept-new-host-key', async () => {
    const knownHosts = join(dir, 'known_hosts');
    const sshConfig = config(knownHosts);
    const refused = await run('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', sshConfig, 'ps', 'prod']).then(
      () => assert.fail('an unknown host key must not be accepted'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(refused.code, 1);
    const fingerprint = execFileSync('ssh-keygen', ['-lf', join(labFiles.hostKeys('prod'), 'ssh_host_ed25519_key.pub')], { encoding: 'utf8' }).split(' ')[1]!;
    assert.match(refused.stderr, /is not known/);
    assert.ok(refused.stderr.includes(fingerprint), `stderr names ${fingerprint}`);
    assert.match(refused.stderr, /--accept-new-host-key/);

    const accepted = await run('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', sshConfig, '--accept-new-host-key', 'ps', 'prod']);
    assert.match(accepted.stdout, /demo-api/);
    const recorded = readFileSync(knownHosts, 'utf8');
    assert.ok(recorded.includes(realLine().split(' ')[2]!), 'the real key was recorded');
    // From now on it is known: no flag needed.
    assert.match((await run('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', sshConfig, 'ps', 'prod'])).stdout, /demo-api/);
  });
});
