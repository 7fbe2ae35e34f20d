// Old snapshots and broken metadata in VS Code: at start, snapshots older than
// snapdebug.store.maxAgeDays are offered for deletion (Delete deletes exactly those, Keep keeps
// all), broken metadata files are logged one line each, and the Snapshots view marks both.
import { strict as assert } from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addSnapshot, fake, makeCore, makeServices, walkTree } from './harness';
import { makeTempDir, ManualClock } from '../helpers';

const { reviewStore } = await import('../../../src/extension/retention');

const dayMs = 86_400_000;

describe('store retention at start', () => {
  let temp: ReturnType<typeof makeTempDir>;
  const now = new Date('2026-12-10T00:00:00.000Z');
  beforeEach(() => {
    fake.reset();
    temp = makeTempDir('retention');
  });
  afterEach(() => temp.cleanup());

  function setUp() {
    const core = makeCore({}, join(temp.dir, 'store'));
    const services = makeServices(core, new ManualClock(now.getTime()));
    const at = (days: number) => new Date(now.getTime() - days * dayMs).toISOString();
    addSnapshot(core.store, { id: 'fresh-1', createdAt: at(1) });
    addSnapshot(core.store, { id: 'old-1', createdAt: at(8), source: { host: 'prod', container: 'demo-python' } });
    addSnapshot(core.store, { id: 'older-1', createdAt: at(30), source: { host: 'prod', container: 'demo-native' } });
    writeFileSync(join(core.store.dir, 'broken-1.json'), '{"id": "broken-1", "archive": "../victim"}');
    return { core, services };
  }

  it('offers the snapshots older than the setting in a notification; Delete deletes exactly those', async () => {
    const { core, services } = setUp();
    fake.answerMessage = (m) => (m.kind === 'warning' ? 'Delete' : undefined);
    await reviewStore(services);
    const [offer] = fake.messages.filter((m) => m.kind === 'warning');
    assert.equal(offer!.message, '2 snapshots are older than 7 days: demo-native, demo-python. Snapshots hold process memory, secrets included.');
    assert.deepEqual(offer!.items, ['Delete', 'Keep']);
    assert.equal((offer!.options as { modal?: boolean } | undefined)?.modal, undefined, 'a notification, not a modal');
    assert.deepEqual(core.store.list().map((m) => m.id), ['fresh-1']);
    assert.deepEqual(core.store.audit.read().filter((e) => e.action === 'delete').map((e) => e.snapshot), ['older-1', 'old-1']);
    assert.deepEqual(fake.messagesOf('information'), ['Deleted 2 snapshots older than 7 days.']);
  });

  it('Keep (or dismissing) deletes nothing; the limit comes from snapdebug.store.maxAgeDays', async () => {
    const { core, services } = setUp();
    fake.settings.set('snapdebug.store.maxAgeDays', 14);
    fake.answerMessage = () => 'Keep';
    await reviewStore(services);
    assert.match(fake.messagesOf('warning')[0]!, /^1 snapshot is older than 14 days: demo-native\./);
    assert.equal(core.store.list().length, 3);
    fake.reset();
    fake.settings.set('snapdebug.store.maxAgeDays', 0);
    await reviewStore(services);
    assert.deepEqual(fake.messagesOf('warning'), [], '0: never asks');
  });

  it('logs each broken metadata file in one line and never touches it', async () => {
    const { core, services } = setUp();
    fake.settings.set('snapdebug.store.maxAgeDays', 0);
    await reviewStore(services);
    const lines = services.channel.lines.filter((l) => l.level === 'error').map((l) => l.text);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^not a snapshot, left alone: .*broken-1\.json: /);
    assert.ok(existsSync(join(core.store.dir, 'broken-1.json')));
  });

  it('the Snapshots view marks old snapshots and shows broken files as warnings', async () => {
    const { services } = setUp();
    const items = (await walkTree(services.views.snapshots)).filter((w) => w.depth === 0).map((w) => w.item);
    const described = Object.fromEntries(items.map((i) => [String(i.label), String(i.description)]));
    assert.doesNotMatch(described['demo-api']!, / · old$/);
    assert.match(described['demo-native']!, / · old$/);
    assert.match(described['not a snapshot: broken-1.json']!, /^kind: /);
    assert.equal(items.find((i) => String(i.label).startsWith('not a snapshot'))!.contextValue, 'message');
  });
});
