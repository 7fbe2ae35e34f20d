// Whatever the CLI writes on stderr — --verbose lines, progress, errors — has its secrets masked by
// the core's redact(), and so has every line the core logs or any command it runs, whichever face
// listens. (Results on stdout are the data asked for and are printed as they are.)
import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/cli';
import { createOutput } from '../../../src/cli/output';
import { createCore } from '../../../src/core/core';
import { makeTempDir } from '../helpers';

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

describe('CLI output and core logs are redacted', () => {
  it('info lines (--verbose logs and remote commands) and progress lines on stderr', () => {
    const stderr = capture();
    const stdout = capture();
    const out = createOutput({ json: false, stderr: stderr.stream, stdout: stdout.stream });
    out.info("[prod] env 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI' podman ps (12 ms, exit 0)");
    out.info('pulling from https://bob:hunter2@registry.example/v2');
    out.progress({ phase: 'connect', message: 'Connecting with token=hunter2' });
    assert.equal(
      stderr.text(),
      "[prod] env 'AWS_SECRET_ACCESS_KEY=***' podman ps (12 ms, exit 0)\npulling from https://bob:***@registry.example/v2\nConnecting with token=***\n",
    );
    assert.equal(stdout.text(), '');
  });

  it('an error naming a secret the user typed is printed masked', async () => {
    const written: string[] = [];
    const realWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    const temp = makeTempDir('cli-redact');
    try {
      await main(['--store', temp.dir, 'ps', 'postgres://app:hunter2@db']);
    } finally {
      process.stderr.write = realWrite;
      temp.cleanup();
    }
    const text = written.join('');
    assert.match(text, /postgres:\/\/app:\*\*\*@db/);
    assert.doesNotMatch(text, /hunter2/);
  });

  it('with --json, the error document on stdout is masked too', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const real = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
    process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
    const temp = makeTempDir('cli-redact-json');
    try {
      // A usage error (exit 2) and a failure (exit 1), each naming a secret the user typed.
      assert.equal(await main(['--store', temp.dir, '--json', 'ps', 'postgres://app:hunter2@db']), 2);
      assert.equal(await main(['--store', temp.dir, '--json', 'rm', 'token=hunter2']), 2);
    } finally {
      process.stdout.write = real.out;
      process.stderr.write = real.err;
      temp.cleanup();
    }
    const documents = out.join('').split(/\n(?=\{)/).map((d) => JSON.parse(d) as { error: string });
    assert.equal(documents.length, 2);
    assert.match(documents[0]!.error, /postgres:\/\/app:\*\*\*@db/);
    assert.match(documents[1]!.error, /token=\*\*\*/);
    assert.doesNotMatch(out.join('') + err.join(''), /hunter2/);
  });

  it("the core masks its log lines and every command line it logs, for any face", async () => {
    const lines: string[] = [];
    const commands: string[] = [];
    const core = createCore({ prompts: undefined as never, log: (l) => lines.push(l), commandLog: (e) => commands.push(e.command) });
    try {
      core.log('connecting with GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB');
      // A real command on the `local` host, with a secret in its argv.
      await core.hosts.get('local').runner.run(['env', 'DB_PASSWORD=hunter2', 'true']);
    } finally {
      core.dispose();
    }
    assert.deepEqual(lines, ['connecting with GITHUB_TOKEN=***']);
    assert.deepEqual(commands, ["env 'DB_PASSWORD=***' true"]);
  });
});
