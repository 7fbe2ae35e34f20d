// The small utilities: the semaphore that keeps SSH channels under MaxSessions, numbers for
// people, OpenSSH wildcards and the product's error type.
import { strict as assert } from 'node:assert';
import { isAbortError } from '../../../src/core/util/abort';
import { describeError, SnapdebugError } from '../../../src/core/util/errors';
import { formatAge, formatBytes, formatDuration, formatSince } from '../../../src/core/util/format';
import { KeyedLocks, Semaphore } from '../../../src/core/util/semaphore';
import { wildcardRegExp } from '../../../src/core/util/wildcard';

/** Lets pending promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  it('grants up to the limit at once and counts holders', async () => {
    const sem = new Semaphore(2);
    const a = await sem.acquire();
    const b = await sem.acquire();
    assert.equal(sem.inUse, 2);
    a();
    assert.equal(sem.inUse, 1);
    b();
    assert.equal(sem.inUse, 0);
  });

  it('makes the rest wait, then grants them in arrival order', async () => {
    const sem = new Semaphore(1);
    const first = await sem.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) => sem.acquire().then((release) => (order.push(n), release)));
    await settle();
    assert.deepEqual(order, [], 'nobody may pass while the only slot is held');
    first();
    const r1 = await waiters[0]!;
    assert.deepEqual(order, [1]);
    assert.equal(sem.inUse, 1);
    r1();
    const r2 = await waiters[1]!;
    r2();
    const r3 = await waiters[2]!;
    assert.deepEqual(order, [1, 2, 3]);
    r3();
    assert.equal(sem.inUse, 0);
  });

  it('a release called twice frees only one slot', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const waiting = sem.acquire();
    release();
    release();
    const second = await waiting;
    assert.equal(sem.inUse, 1);
    second();
    assert.equal(sem.inUse, 0);
  });

  it('never has more holders than the limit under churn', async () => {
    const sem = new Semaphore(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const release = await sem.acquire();
        active++;
        peak = Math.max(peak, active);
        // Holders let go after 1 to 3 turns of the event loop, so releases and acquires interleave.
        for (let turn = 0; turn <= i % 3; turn++) await new Promise((resolve) => setImmediate(resolve));
        active--;
        release();
      }),
    );
    assert.equal(peak, 3);
    assert.equal(sem.inUse, 0);
  });

  it('refuses at once with AbortError when the signal is already aborted', async () => {
    const sem = new Semaphore(1);
    await assert.rejects(sem.acquire(AbortSignal.abort()), (e) => isAbortError(e));
    assert.equal(sem.inUse, 0);
  });

  it('an aborted waiter leaves the queue and is never granted', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const aborted = sem.acquire(controller.signal);
    const next = sem.acquire();
    controller.abort();
    await assert.rejects(aborted, (e) => isAbortError(e));
    held();
    const release = await next;
    assert.equal(sem.inUse, 1, 'the slot went to the next waiter, not the aborted one');
    release();
    assert.equal(sem.inUse, 0);
  });

  it('rejectAll fails every waiter with the given error and keeps the holders', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const waiters = [sem.acquire(), sem.acquire()];
    const gone = new Error('connection closed');
    sem.rejectAll(gone);
    for (const w of waiters) await assert.rejects(w, (e) => e === gone);
    assert.equal(sem.inUse, 1);
    held();
    assert.equal(sem.inUse, 0);
  });
});

describe('formatBytes', () => {
  it('uses binary units with one decimal above bytes', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1.0 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(10 * 1024 * 1024), '10.0 MiB');
    assert.equal(formatBytes(3.5 * 1024 ** 3), '3.5 GiB');
    assert.equal(formatBytes(2 * 1024 ** 4), '2.0 TiB');
  });

  it('stays in TiB beyond the largest unit', () => {
    assert.equal(formatBytes(2048 * 1024 ** 4), '2048.0 TiB');
  });
});

describe('formatDuration', () => {
  it('shows milliseconds, seconds, then minutes and seconds', () => {
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(112.9), '113 ms');
    assert.equal(formatDuration(999), '999 ms');
    assert.equal(formatDuration(1000), '1.0 s');
    assert.equal(formatDuration(12_345), '12.3 s');
    assert.equal(formatDuration(60_000), '1 min 0 s');
    assert.equal(formatDuration(125_000), '2 min 5 s');
  });

  it('never shows 60 seconds in the minutes form', () => {
    // 1 min 59.6 s rounds to 2 min 0 s, not "1 min 60 s".
    assert.equal(formatDuration(119_600), '2 min 0 s');
  });
});

describe('formatAge', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const ago = (seconds: number) => formatAge(new Date(now.getTime() - seconds * 1000), now);

  it('names the largest whole unit, singular or plural', () => {
    assert.equal(ago(0), 'just now');
    assert.equal(ago(1), '1 second ago');
    assert.equal(ago(59), '59 seconds ago');
    assert.equal(ago(60), '1 minute ago');
    assert.equal(ago(3 * 60 + 30), '3 minutes ago');
    assert.equal(ago(3600), '1 hour ago');
    assert.equal(ago(5 * 3600), '5 hours ago');
    assert.equal(ago(86400), '1 day ago');
    assert.equal(ago(10 * 86400), '10 days ago');
  });

  it('treats a time in the future (clock skew) as just now', () => {
    assert.equal(ago(-30), 'just now');
  });
});

describe('wildcardRegExp', () => {
  it('* matches any run, ? exactly one character, anchored at both ends', () => {
    const star = wildcardRegExp('*.example.com');
    assert.ok(star.test('a.example.com'));
    assert.ok(star.test('.example.com'));
    assert.ok(!star.test('a.example.com.evil'));
    assert.ok(!star.test('a.example.org'));
    const q = wildcardRegExp('web?');
    assert.ok(q.test('web1'));
    assert.ok(!q.test('web'));
    assert.ok(!q.test('web12'));
  });

  it('every other character, regex syntax included, stands for itself', () => {
    assert.ok(!wildcardRegExp('a.c').test('abc'), 'a dot is not "any character"');
    assert.ok(wildcardRegExp('a.c').test('a.c'));
    assert.ok(wildcardRegExp('[127.0.0.1]:2201').test('[127.0.0.1]:2201'));
    assert.ok(!wildcardRegExp('[127.0.0.1]:2201').test('1'), 'brackets are not a character class');
    assert.ok(wildcardRegExp('a+b(c)|d^$\\{1}').test('a+b(c)|d^$\\{1}'));
    assert.ok(!wildcardRegExp('a+b').test('aab'));
    assert.ok(!wildcardRegExp('x|y').test('x'), 'a bar is not alternation');
  });

  it('takes regex flags, e.g. case-insensitive matching for host names', () => {
    assert.ok(wildcardRegExp('PROD*', 'i').test('prod-1'));
    assert.ok(!wildcardRegExp('PROD*').test('prod-1'));
  });
});

describe('KeyedLocks', () => {
  it('runs work of one key one at a time, in order, and of different keys at once', async () => {
    const locks = new KeyedLocks();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const first = locks.run('checkpoint prod/demo-api', () => new Promise<void>((resolve) => ((releaseFirst = resolve), events.push('first starts'))));
    const second = locks.run('checkpoint prod/demo-api', async () => void events.push('second starts'));
    const other = locks.run('checkpoint prod/demo-python', async () => void events.push('other starts'));
    await other;
    assert.deepEqual(events, ['first starts', 'other starts'], 'the same container waits; another does not');
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(events, ['first starts', 'other starts', 'second starts']);
    assert.equal(locks.size, 0, 'nothing kept once no one holds or waits');
  });

  it('lets a waiter give up with its signal, and still releases after a failure', async () => {
    const locks = new KeyedLocks();
    let releaseFirst!: () => void;
    const first = locks.run('k', () => new Promise<void>((resolve) => (releaseFirst = resolve)));
    const controller = new AbortController();
    const waiting = locks.run('k', async () => 'never', controller.signal);
    controller.abort();
    await assert.rejects(waiting, (e: unknown) => isAbortError(e));
    releaseFirst();
    await first;
    await assert.rejects(locks.run('k', () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await locks.run('k', async () => 'next'), 'next');
    assert.equal(locks.size, 0);
  });
});

describe('SnapdebugError / describeError', () => {
  it('carries message, fix, detail, criuLog and cause', () => {
    const cause = new Error('root');
    const error = new SnapdebugError('Checkpoint failed.', {
      fix: 'Try again.',
      detail: 'stderr text\n\n',
      cause,
      criuLog: { host: 'prod', path: '/var/lib/dump.log' },
    });
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'SnapdebugError');
    assert.equal(error.message, 'Checkpoint failed.');
    assert.deepEqual(error.fix, { text: 'Try again.' }, 'a sentence is a fix that names no option');
    assert.equal(error.cause, cause);
    assert.deepEqual(error.criuLog, { host: 'prod', path: '/var/lib/dump.log' });
  });

  it('has no cause property when none is given', () => {
    const error = new SnapdebugError('x');
    assert.equal('cause' in error, false);
    assert.equal(error.fix, undefined);
    assert.equal(error.detail, undefined);
  });

  it('describes sentence, then fix, then detail without trailing blank lines', () => {
    const error = new SnapdebugError('Checkpoint failed.', { fix: 'Try again.', detail: 'stderr text\n\n' });
    assert.equal(describeError(error), 'Checkpoint failed.\nfix: Try again.\nstderr text');
    assert.equal(describeError(new SnapdebugError('Only a sentence.')), 'Only a sentence.');
  });

  it('words a structured fix the way the face asks, by default with the option names', () => {
    const error = new SnapdebugError('No space in /var/tmp.', { fix: { text: 'Choose another temporary folder.', options: [{ name: 'remoteTempDir' }, { name: 'restore.name', value: 'x' }] } });
    assert.equal(describeError(error), 'No space in /var/tmp.\nfix: Choose another temporary folder. (remoteTempDir, restore.name=x)');
    assert.equal(describeError(error, (fix) => `${fix.text} [${fix.options!.length} options]`), 'No space in /var/tmp.\nfix: Choose another temporary folder. [2 options]');
  });

  it('describes other errors and non-errors plainly', () => {
    assert.equal(describeError(new TypeError('bad type')), 'bad type');
    assert.equal(describeError('a string'), 'a string');
    assert.equal(describeError(42), '42');
  });
});

describe('formatSince', () => {
  // Local times: the test builds them the way the function reads them.
  const now = new Date(2026, 10, 30, 15, 4);

  it('gives the time alone today, the day before that, and the year only when it differs', () => {
    assert.equal(formatSince(new Date(2026, 10, 30, 9, 5), now), '09:05');
    assert.equal(formatSince(new Date(2026, 10, 28, 23, 59), now), 'Nov 28 23:59');
    assert.equal(formatSince(new Date(2025, 0, 2, 7, 0), now), 'Jan 2 2025 07:00');
  });
});
