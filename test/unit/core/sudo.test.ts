// A missing sudo right: `sudo -n` says only "a password is required", and snapdebug turns that into
// one sentence naming the user and the program, with the exact sudoers line to add (the program's
// path found as sudo finds it). The lookup runs through a real shell here (a local host).
import { strict as assert } from 'node:assert';
import { Host } from '../../../src/core/host';
import { podman } from '../../../src/core/podman/commands';
import type { RunOptions, RunResult, Runner, StreamProcess } from '../../../src/core/ssh/runner';
import { LocalRunner } from '../../../src/core/ssh/runner';
import { securePath, sudoProgram, sudoRefusal, sudoRefusalError, sudoRefused } from '../../../src/core/sudo';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';

/** sudo refuses every privileged command; anything else runs in a real local shell. */
class RefusingSudo implements Runner {
  readonly label = 'prod';
  private readonly local = new LocalRunner();
  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (argv[0] === 'sudo') return { stdout: '', stderr: 'sudo: a password is required\n', exitCode: 1 };
    return this.local.run(argv, options);
  }
  start(): Promise<StreamProcess> {
    throw new Error('not used');
  }
  drops(): number {
    return 0;
  }
}

describe('a missing sudo right', () => {
  it('is recognised from what sudo -n prints', () => {
    for (const text of ['sudo: a password is required', 'Sorry, user dev is not allowed to execute \'/usr/bin/env true\' as root on prod.', 'dev is not in the sudoers file.']) {
      assert.match(text, sudoRefused, text);
    }
    assert.doesNotMatch('Error: no such container demo-api', sudoRefused);
  });

  it('names the program sudo was asked to run', () => {
    assert.equal(sudoProgram(['sudo', '-n', 'podman', 'ps']), 'podman');
    assert.equal(sudoProgram(['sudo', '-n', 'env', 'X=1', 'podman', 'ps']), 'env');
  });

  it('names the user, the program and the sudoers line to add', () => {
    const error = sudoRefusalError('prod', 'dev', 'criu', '/usr/sbin/criu');
    assert.equal(error.message, 'sudo on prod does not let dev run criu without a password, which snapdebug needs.');
    assert.match(error.fix?.text ?? '', /^Add the line "dev ALL=\(root\) NOPASSWD: \/usr\/sbin\/criu" to \/etc\/sudoers\.d\/snapdebug on prod/);
  });

  it('finds the user and the program\'s path on the host, as sudo would (secure_path)', async () => {
    const error = await sudoRefusal(new Host('prod', new LocalRunner(), { sudo: true }), 'cat');
    assert.match(error.message, new RegExp(`does not let ${userInfo().username} run cat`));
    // The first of secure_path's folders holding it: /usr/bin before /bin on a merged-/usr system.
    const expected = securePath.map((d) => `${d}/cat`).find((p) => existsSync(p));
    assert.ok(error.fix?.text.includes(`NOPASSWD: ${expected}"`), error.fix?.text);
  });

  it('a podman command refused by sudo fails with that sentence, not podman\'s', async () => {
    const host = new Host('prod', new RefusingSudo(), { sudo: true });
    await assert.rejects(host.podman(podman.ps()), (error: Error & { fix?: { text: string } }) => {
      // The program sudo was asked for: the one after `sudo -n` (podman itself, never env).
      const program = sudoProgram(host.privileged(['podman']));
      assert.match(error.message, new RegExp(`^sudo on prod does not let \\S+ run ${program} without a password`));
      assert.match(error.fix?.text ?? '', new RegExp(`NOPASSWD: /\\S*${program}"`));
      return true;
    });
  });
});
