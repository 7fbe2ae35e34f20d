// runLong, the bridge between VS Code's cancellable notification and the core: Cancel becomes an
// AbortSignal abort the work sees, a cancel is reported as cancelled (never as a failure), a
// failure is one sentence with "Show Log" (and "Show CRIU Log" when CRIU left one), and progress
// events become "MiB of MiB (n%), MiB/s" reports with increments.
import { strict as assert } from 'node:assert';
import { fake, makeCore, makeServices, waitFor, type Script } from './harness';
import type { FakeTextDocument } from './fakeVscode';
import * as vscodeFake from './fakeVscode';
import { AbortError } from '../../../src/core/util/abort';
import { SnapdebugError } from '../../../src/core/util/errors';

const { runLong } = await import('../../../src/extension/progress');

const MiB = 1024 * 1024;
const title = 'Checkpoint prod/demo-api';

/** Work that runs until its signal aborts, then rejects as the core does. */
function untilAborted(seen: { signal?: AbortSignal }) {
  return (control: { signal?: AbortSignal }) =>
    new Promise<never>((_resolve, reject) => {
      seen.signal = control.signal;
      control.signal!.addEventListener('abort', () => reject(new AbortError()), { once: true });
    });
}

describe('runLong', () => {
  beforeEach(() => {
    fake.reset();
  });

  it('shows a cancellable notification titled for the work', async () => {
    const services = makeServices(makeCore({}));
    const outcome = await runLong(services, title, async () => 42);
    assert.deepEqual(outcome, { status: 'done', value: 42 });
    assert.deepEqual(fake.progress[0]!.options, { location: vscodeFake.ProgressLocation.Notification, title, cancellable: true });
    assert.deepEqual(fake.messages, [], 'success says nothing here: the caller does');
    assert.match(services.channel.text(), /Checkpoint prod\/demo-api: started[\s\S]*Checkpoint prod\/demo-api: done in \d+ ms/);
  });

  it("turns the notification's Cancel into an abort of the work's AbortSignal, and reports it as cancelled", async () => {
    const services = makeServices(makeCore({}));
    const seen: { signal?: AbortSignal } = {};
    const running = runLong(services, title, untilAborted(seen));
    await waitFor(() => seen.signal !== undefined, 'the work to start');
    assert.equal(seen.signal!.aborted, false);
    fake.progress[0]!.cancel();
    assert.equal(seen.signal!.aborted, true, 'the abort reaches the work at once');
    assert.deepEqual(await running, { status: 'cancelled' });
    assert.deepEqual(fake.messages.map((m) => [m.kind, m.message]), [['information', 'Checkpoint prod/demo-api: cancelled. Nothing was left behind.']]);
    assert.match(services.channel.text(), /\[info\] Checkpoint prod\/demo-api: cancelled/);
    assert.doesNotMatch(services.channel.text(), /\[error\]/);
  });

  it('reports a cancel as cancelled even when the work fails with another error while stopping', async () => {
    const services = makeServices(makeCore({}));
    const outcome = await runLong(services, title, (control) => {
      fake.progress[0]!.cancel();
      assert.equal(control.signal!.aborted, true);
      return Promise.reject(new Error('Channel closed'));
    });
    assert.deepEqual(outcome, { status: 'cancelled' });
    assert.deepEqual(fake.messagesOf('error'), []);
  });

  it('reports a failure as its sentence and fix with "Show Log", which opens the log', async () => {
    const services = makeServices(makeCore({}));
    fake.answerMessage = (m) => (m.kind === 'error' ? 'Show Log' : undefined);
    const error = new SnapdebugError('podman container checkpoint failed on prod (exit 125): no space left on device', { fix: 'Free space in /var/lib/containers.', detail: 'Error: writing checkpoint: no space left on device' });
    const outcome = await runLong(services, title, () => Promise.reject(error));
    assert.deepEqual(outcome, { status: 'failed', error });
    assert.deepEqual(fake.messages.map((m) => [m.kind, m.message, m.items]), [
      ['error', 'Checkpoint prod/demo-api: podman container checkpoint failed on prod (exit 125): no space left on device Free space in /var/lib/containers.', ['Show Log']],
    ]);
    await waitFor(() => services.channel.shown === 1, 'Show Log to open the log');
    // The log keeps the whole story: sentence, fix and podman's own words.
    assert.match(services.channel.text(), /\[error\] Checkpoint prod\/demo-api: podman container checkpoint failed[^\n]*\nfix: Free space[^\n]*\nError: writing checkpoint/);
  });

  it('words a fix for VS Code: the settings it names, each with a button that opens it; never a CLI flag', async () => {
    const services = makeServices(makeCore({}));
    fake.answerMessage = (m) => (m.kind === 'error' ? 'Open Setting' : undefined);
    const error = new SnapdebugError('debug has 1.2 GiB free in /var/tmp, and the archive needs 2.0 GiB.', { fix: { text: 'Free space there, or choose another temporary folder.', options: [{ name: 'remoteTempDir' }] } });
    await runLong(services, title, () => Promise.reject(error));
    assert.deepEqual(fake.messages.map((m) => [m.message, m.items]), [
      ['Checkpoint prod/demo-api: debug has 1.2 GiB free in /var/tmp, and the archive needs 2.0 GiB. Free space there, or choose another temporary folder. (setting snapdebug.remoteTempDir)', ['Open Setting', 'Show Log']],
    ]);
    await waitFor(() => fake.executed.length > 0, 'the setting to open');
    assert.deepEqual(fake.executed, [{ command: 'workbench.action.openSettings', args: ['snapdebug.remoteTempDir'] }]);
    assert.doesNotMatch(services.channel.text(), /--remote-tmp/, 'the log words it for VS Code too');
  });

  it('names options that have no setting as VS Code shows them, with a button per setting when there are several', async () => {
    const services = makeServices(makeCore({}));
    const error = new SnapdebugError('The image is not on debug.', { fix: { text: 'Copy it from prod.', options: [{ name: 'transferImage' }, { name: 'sudo' }, { name: 'restore.tcpClose' }] } });
    await runLong(services, title, () => Promise.reject(error));
    assert.deepEqual(fake.messages.map((m) => [m.message, m.items]), [
      ['Checkpoint prod/demo-api: The image is not on debug. Copy it from prod. (“Copy Image” when offered, setting snapdebug.useSudo, option “TCP close”)', ['Open Setting', 'Show Log']],
    ]);
    fake.reset();
    const two = new SnapdebugError('x', { fix: { text: 'y', options: [{ name: 'remoteTempDir' }, { name: 'debugHost' }] } });
    await runLong(makeServices(makeCore({})), title, () => Promise.reject(two));
    assert.deepEqual(fake.messages[0]!.items, ['Open snapdebug.remoteTempDir', 'Open snapdebug.defaultDebugHost', 'Show Log']);
  });

  it("shows only the first line of a plain error's message", async () => {
    const services = makeServices(makeCore({}));
    await runLong(services, title, () => Promise.reject(new Error('Connection lost\n    at Socket.<anonymous>')));
    assert.deepEqual(fake.messagesOf('error'), ['Checkpoint prod/demo-api: Connection lost']);
  });

  it('offers "Show CRIU Log" when CRIU left a log, and shows its tail from the host as a read-only document', async () => {
    const tailed: string[][] = [];
    const prod: Script = (words) => {
      tailed.push(words);
      return { stdout: '(00.012345) Error (criu/sk-inet.c:191): inet: Connected TCP socket, consider using --tcp-established option.\n' };
    };
    const services = makeServices(makeCore({ prod }));
    fake.answerMessage = (m) => (m.kind === 'error' ? 'Show CRIU Log' : undefined);
    const criuLog = { host: 'prod', path: '/var/lib/containers/storage/overlay-containers/5c80f3f0f8cd/userdata/dump.log' };
    await runLong(services, title, () => Promise.reject(new SnapdebugError('CRIU failed on prod during podman container checkpoint.', { criuLog })));
    assert.deepEqual(fake.messages[0]!.items, ['Show Log', 'Show CRIU Log']);
    await waitFor(() => fake.shownDocuments.length === 1, 'the CRIU log to be shown');
    assert.deepEqual(tailed, [['cat', criuLog.path]]);
    const document = fake.shownDocuments[0]!.document as FakeTextDocument;
    assert.equal(document.uri.scheme, 'snapdebug-view');
    assert.match(document.uri.path, /^\/prod-dump\.log/);
    assert.equal(document.languageId, 'log');
    assert.match(document.getText(), /consider using --tcp-established/);
  });

  it('turns progress events into "MiB of MiB (n%), MiB/s" reports, incrementing by the percent gained', async () => {
    const services = makeServices(makeCore({}));
    const clock = services.clock;
    await runLong(services, title, async ({ progress }) => {
      const pull = (bytes: number) => progress!({ phase: 'pull', message: 'Receiving checkpoint of demo-api', bytes, total: 100 * MiB });
      pull(0);
      clock.set(1_000_500);
      pull(25 * MiB);
      clock.set(1_001_000);
      pull(50 * MiB);
      progress!({ phase: 'verify', message: 'Checking the archive' });
      progress!({ phase: 'push', message: 'Sending to debug', bytes: 10 * MiB, total: 100 * MiB });
    });
    assert.deepEqual(fake.progress[0]!.reports, [
      { message: 'Receiving checkpoint of demo-api: 0 B of 100.0 MiB (0%)', increment: 0 },
      { message: 'Receiving checkpoint of demo-api: 25.0 MiB of 100.0 MiB (25%), 50.0 MiB/s', increment: 25 },
      { message: 'Receiving checkpoint of demo-api: 50.0 MiB of 100.0 MiB (50%), 50.0 MiB/s', increment: 25 },
      { message: 'Checking the archive' },
      { message: 'Sending to debug: 10.0 MiB of 100.0 MiB (10%)', increment: 10 },
    ]);
  });
});
