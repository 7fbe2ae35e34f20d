// The log channel never receives a secret: every line, remote commands included, goes through the
// core's redact() (its table of cases is test/unit/core/redact.test.ts).
import { strict as assert } from 'node:assert';
import { fake } from './harness';

const { createLog } = await import('../../../src/extension/log');

describe('log channel', () => {
  beforeEach(() => fake.reset());

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
      { level: 'info', text: "[prod] env 'DB_PASSWORD=***' podman ps (12 ms, exit 0)" },
      { level: 'warn', text: '[prod] podman top demo-api (30 ms, exit 125)' },
      { level: 'warn', text: '[prod] podman logs demo-api (30 ms, exit none)' },
    ]);
    assert.doesNotMatch(channel.text(), /hunter2|abc/);
  });
});
