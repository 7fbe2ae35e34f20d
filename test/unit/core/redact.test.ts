// redact(): one table of what must be masked (and what must survive untouched), shared by the
// extension's log channel, the CLI's --verbose lines and errors, and the core's own log.
import { strict as assert } from 'node:assert';
import { isSecretName, redact } from '../../../src/core/util/redact';
import { shellJoin } from '../../../src/core/util/quote';

/** [what, input, expected]; every secret below is the string "s3cr3t…" or shaped like a real token. */
const masked: [string, string, string][] = [
  ['env assignment', 'env DB_PASSWORD=s3cr3t node server.js', 'env DB_PASSWORD=*** node server.js'],
  ['AWS secret key', 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws s3 ls', 'AWS_SECRET_ACCESS_KEY=*** aws s3 ls'],
  ['AWS session token', 'export AWS_SESSION_TOKEN="IQoJb3JpZ2luX2VjE"', 'export AWS_SESSION_TOKEN="***"'],
  ['*_TOKEN', 'GITHUB_TOKEN=s3cr3t-token', 'GITHUB_TOKEN=***'],
  ['*_PASSWORD', 'POSTGRES_PASSWORD: s3cr3t', 'POSTGRES_PASSWORD: ***'],
  ['*_SECRET', 'CLIENT_SECRET=s3cr3t', 'CLIENT_SECRET=***'],
  ['*_PASS and *_PWD', 'DB_PASS=s3cr3t REDIS_PWD=s3cr3t2', 'DB_PASS=*** REDIS_PWD=***'],
  ['*_KEY', 'STRIPE_KEY=s3cr3t ENCRYPTION_KEY=s3cr3t2', 'STRIPE_KEY=*** ENCRYPTION_KEY=***'],
  ['API keys in every spelling', 'api_key=s1 api-key: s2 apikey=s3 X-Api-Key: s4', 'api_key=*** api-key: *** apikey=*** X-Api-Key: ***'],
  ['passphrase', 'key passphrase=open-sesame accepted', 'key passphrase=*** accepted'],
  ['dotted config names', 'spring.datasource.password=s3cr3t', 'spring.datasource.password=***'],
  ['JSON keys', '{"Env": ["A=1"], "password": "s3cr3t", "token":"t0k"}', '{"Env": ["A=1"], "password": "***", "token":"***"}'],
  ['JSON env arrays', '"Env": ["PATH=/usr/bin", "DB_PASSWORD=s3cr3t"]', '"Env": ["PATH=/usr/bin", "DB_PASSWORD=***"]'],
  ['YAML with quotes', "token: 's3cr3t'", "token: '***'"],
  ['a quoted value with spaces', 'PASSWORD="a b c"', 'PASSWORD="***"'],
  ['shell-quoted by shellJoin', shellJoin(['env', "DB_PASSWORD=it's s3cr3t", 'podman', 'ps']), "env 'DB_PASSWORD=***' podman ps"],
  ['a value with commas and semicolons', 'PASSWORD=a,b;c&d next', 'PASSWORD=*** next'],
  ['command-line flags', 'mysql --password s3cr3t --user root', 'mysql --password *** --user root'],
  ['a flag after another flag', 'app --verbose --api-key s3cr3t', 'app --verbose --api-key ***'],
  ['a flag with =', 'app --db-password=s3cr3t', 'app --db-password=***'],
  ['URL credentials', 'postgres://app:s3cr3t@db:5432/orders', 'postgres://app:***@db:5432/orders'],
  ['URL credentials without a user', 'redis://:s3cr3t@cache:6379', 'redis://:***@cache:6379'],
  ['URL credentials with : in the password', 'https://bob:pa:ss@example.com/x', 'https://bob:***@example.com/x'],
  ['URL query tokens', 'https://api.example.com/v1?access_token=s3cr3t', 'https://api.example.com/v1?access_token=***'],
  ['Authorization: Bearer', 'curl -H Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x http://api', 'curl -H Authorization: Bearer *** http://api'],
  ['Authorization: Basic, quoted', "curl -H 'authorization: Basic dXNlcjpwYXNz' http://api", "curl -H 'authorization: Basic ***' http://api"],
  ['Authorization without a scheme', 'Authorization: s3cr3t', 'Authorization: ***'],
  ['Proxy-Authorization', 'Proxy-Authorization: Basic dXNlcjpwYXNz', 'Proxy-Authorization: Basic ***'],
  ['Authorization as a JSON key', '{"Authorization": "Bearer s3cr3t-token"}', '{"Authorization": "Bearer ***"}'],
  ['cookies', 'Cookie: session=s3cr3t; theme=dark', 'Cookie: ***'],
  ['a bearer token in prose', 'retrying with Bearer abcdefgh12345678', 'retrying with Bearer ***'],
  ['an AWS access key id', 'key AKIAIOSFODNN7EXAMPLE used', 'key *** used'],
  ['a GitHub token', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB pushed', '*** pushed'],
  ['a Slack token', 'xoxb-123456789012-abcdefghij', '***'],
  ['a Stripe key', 'charge with sk_live_0123456789abcdefABCD', 'charge with ***'],
  ['a Google API key', 'AIzaSyA-0123456789abcdefghijklmnopqrstu', '***'],
  ['a JWT', 'got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV', 'got ***'],
  ['two secrets on one line', 'password=a token=b', 'password=*** token=***'],
  ['a secret inside an ordinary value', 'OPTS=user=a,password=s3cr3t next', 'OPTS=user=a,password=*** next'],
  ['a JSON env entry with spaces', '"Env": ["DB_PASSWORD=two words", "A=1"]', '"Env": ["DB_PASSWORD=***", "A=1"]'],
];

const kept = [
  'podman container checkpoint --leave-running --export /dev/stdout demo-api',
  "[prod] podman top demo-api (30 ms, exit 0)",
  'ssh prod: connected to root@127.0.0.1:2201',
  'PWD=/app OLDPWD=/ HOME=/root PATH=/usr/bin',
  'ssh prod: recorded ssh-ed25519 SHA256:Ab12 in /root/.ssh/known_hosts',
  'https://example.com/path?page=2',
  'ssh://root@prod:22',
  'restored demo-api-20261130-083515-0985 on debug as demo-api-snap-101502 (pid 4242)',
  'The snapshot holds process memory, secrets included.',
  'snapdebug push SNAPSHOT --to debug',
];

describe('redact', () => {
  for (const [what, input, expected] of masked) {
    it(`masks ${what}`, () => {
      assert.equal(redact(input), expected);
    });
  }

  it('leaves text without secrets as it is', () => {
    for (const line of kept) assert.equal(redact(line), line);
  });

  it('replaces the body of private key blocks, also one cut off before its END line', () => {
    const key = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ', '-----END OPENSSH PRIVATE KEY-----'].join('\n');
    assert.equal(redact(`loaded:\n${key}\ndone`), 'loaded:\n-----BEGIN OPENSSH PRIVATE KEY-----…-----END OPENSSH PRIVATE KEY-----\ndone');
    assert.doesNotMatch(redact('-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'), /MIIEow/);
    assert.doesNotMatch(redact('-----BEGIN PRIVATE KEY-----\nMIIEvQ and the rest'), /MIIEvQ/);
  });

  it('leaves the CLI\'s own flags that name public keys alone', () => {
    const line = "snapdebug ps: The host key of prod is not known; refusing to connect. Trust it (--accept-new-host-key --sudo). See 'snapdebug ps --help'.";
    assert.equal(redact(line), line);
    assert.equal(redact('snapdebug ps --accept-new-host-key prod'), 'snapdebug ps --accept-new-host-key prod');
  });

  it('is idempotent: masking masked text changes nothing', () => {
    for (const [, input] of masked) assert.equal(redact(redact(input)), redact(input));
  });

  it('knows secret names from ordinary ones', () => {
    for (const name of ['DB_PASSWORD', 'db-pass', 'AWS_SECRET_ACCESS_KEY', 'MY_TOKEN', 'api.key', 'SIGNING_KEY', 'x_pwd', 'credentials']) assert.ok(isSecretName(name), name);
    for (const name of ['PWD', 'OLDPWD', 'HOME', 'KEYBOARD', 'monkey', 'bypass', 'compass', 'tokenizer', 'host', 'keys', 'accept-new-host-key', 'PUBLIC_KEY']) assert.ok(!isSecretName(name), name);
  });
});
