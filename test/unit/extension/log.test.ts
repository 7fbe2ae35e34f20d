// The log channel never receives a secret: redact() masks passwords, tokens, API keys,
// Authorization headers and private key blocks, and every line goes through it.
import { strict as assert } from 'node:assert';
import { fake } from './harness';

const { redact, createLog } = await import('../../../src/extension/log');

describe('log redaction', () => {
  beforeEach(() => fake.reset());

  it('masks password=, passwd:, passphrase, secret and token values, keeping the key', () => {
    assert.equal(redact('env DB_PASSWORD=hunter2 node server.js'), 'env DB_PASSWORD=*** node server.js');
    assert.equal(redact('passwd: s3cr3t'), 'passwd: ***');
    assert.equal(redact('key passphrase=open-sesame accepted'), 'key passphrase=*** accepted');
    assert.equal(redact('CLIENT_SECRET=abc123'), 'CLIENT_SECRET=***');
    assert.equal(redact('token=ghp_0123456789abcdef, retrying'), 'token=*** retrying');
    assert.equal(redact('Password = hunter2'), 'Password = ***');
  });

  it('masks API keys in both spellings', () => {
    assert.equal(redact('api_key=AKIA123 api-key: xyz apikey=zzz'), 'api_key=*** api-key: *** apikey=***');
  });

  it('masks the credentials of an Authorization header', () => {
    assert.equal(redact('curl -H Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x http://api'), 'curl -H Authorization: Bearer *** http://api');
    assert.equal(redact('authorization: Basic dXNlcjpwYXNz'), 'authorization: Basic ***');
  });

  it('replaces the body of private key blocks of any type, keeping their armour lines', () => {
    const key = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ', 'AAAAAAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5', '-----END OPENSSH PRIVATE KEY-----'].join('\n');
    const out = redact(`loaded key:\n${key}\ndone`);
    assert.equal(out, 'loaded key:\n-----BEGIN OPENSSH PRIVATE KEY-----…-----END OPENSSH PRIVATE KEY-----\ndone');
    assert.doesNotMatch(redact('-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'), /MIIEow/);
    assert.doesNotMatch(redact('-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----'), /MIIEvQ/);
  });

  it('masks every secret of a line, and leaves text without secrets alone', () => {
    assert.equal(redact('password=a token=b'), 'password=*** token=***');
    const plain = 'podman container checkpoint --leave-running --export /dev/stdout demo-api';
    assert.equal(redact(plain), plain);
  });

  it('masks secrets given as JSON or YAML keys ("password": "…")', () => {
    // Error details (podman's or a tool's stderr, JSON answers) reach the log through describeError.
    assert.doesNotMatch(redact('{"Env": ["A=1"], "password": "hunter2"}'), /hunter2/);
    assert.doesNotMatch(redact("token: 'abc'"), /abc/);
  });

  it('sends every line, remote commands included, through redact; failed commands as warnings', () => {
    const log = createLog();
    const channel = fake.outputChannels[0]!;
    assert.equal(channel.name, 'Snapshot Debugger');
    log.info('connecting with password=hunter2');
    log.error('failed: token=abc');
    log.command({ host: 'prod', command: "env 'DB_PASSWORD=hunter2' podman ps", durationMs: 12, exitCode: 0 });
    log.command({ host: 'prod', command: 'podman top demo-api', durationMs: 30, exitCode: 125 });
    log.command({ host: 'prod', command: 'podman logs demo-api', durationMs: 30, exitCode: null });
    assert.deepEqual(channel.lines, [
      { level: 'info', text: 'connecting with password=***' },
      { level: 'error', text: 'failed: token=***' },
      { level: 'info', text: "[prod] env 'DB_PASSWORD=*** podman ps (12 ms, exit 0)" },
      { level: 'warn', text: '[prod] podman top demo-api (30 ms, exit 125)' },
      { level: 'warn', text: '[prod] podman logs demo-api (30 ms, exit none)' },
    ]);
    assert.doesNotMatch(channel.text(), /hunter2|abc/);
  });
});
