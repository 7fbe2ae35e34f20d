// Searching memory as it streams: the streaming search finds exactly what a search of the whole
// buffer finds, however the memory is cut; it never joins memory across a jump in addresses; and
// on a real archive it finds text at the addresses checkpointctl memparse reports for it.
import { strict as assert } from 'node:assert';
import { memoryMaps, searchMemory } from '../../../src/core/inspect/memory';
import { regexMatcher, textMatcher, type Matcher } from '../../../src/core/inspect/matcher';
import { StreamSearch, type RawHit } from '../../../src/core/inspect/streamSearch';
import { fixture, randomChunks, seededRandom } from '../helpers';

const sleeper = fixture('demo-sleeper-checkpoint.tar.zst');
const native = fixture('demo-native-checkpoint.tar.zst');

function streamed(matcher: Matcher, base: number, pieces: Buffer[], context: number): RawHit[] {
  const hits: RawHit[] = [];
  const search = new StreamSearch(matcher, context, (hit) => (hits.push(hit), true));
  let at = base;
  for (const piece of pieces) {
    search.feed(at, piece);
    at += piece.length;
  }
  search.flush();
  return hits;
}

function whole(matcher: Matcher, memory: Buffer, base: number, context: number): RawHit[] {
  const hits: RawHit[] = [];
  for (let from = 0; ; ) {
    const m = matcher.find(memory, from);
    if (!m) return hits;
    const start = Math.max(0, m.index - context);
    hits.push({ address: base + m.index, length: m.length, contextAddress: base + start, context: Buffer.from(memory.subarray(start, Math.min(memory.length, m.index + m.length + context))) });
    from = m.index + m.length;
  }
}

describe('StreamSearch', () => {
  const random = seededRandom(7);
  const memory = Buffer.alloc(64 * 1024);
  for (let i = 0; i < memory.length; i++) memory[i] = 'abcdefghij-token-42 '.charCodeAt(Math.floor(random() * 20));
  for (let i = 0; i < 40; i++) memory.write(i % 2 ? 'token-42' : 'SECRET-token-4242', Math.floor(random() * (memory.length - 20)), 'latin1');

  for (const [name, matcher] of [['text', textMatcher('token-42')], ['regex', regexMatcher('tok[a-z]n-\\d+')]] as const) {
    it(`${name}: finds in pieces of any size exactly what a search of the whole finds, context included`, () => {
      for (const context of [0, 24]) {
        const expected = whole(matcher, memory, 0x1000, context);
        assert.ok(expected.length > 10);
        // Pieces smaller and larger than what is kept between them (the reach plus the context).
        for (const max of [1, 7, 31, 33, 100, 5000]) {
          assert.deepEqual(streamed(matcher, 0x1000, randomChunks(memory, max, max), context), expected, `pieces of up to ${max} bytes, context ${context}`);
        }
      }
    });
  }

  it('does not join memory across a jump in addresses', () => {
    const hits: RawHit[] = [];
    const search = new StreamSearch(textMatcher('split'), 4, (hit) => (hits.push(hit), true));
    search.feed(0x1000, Buffer.from('xxspl'));
    search.feed(0x9000, Buffer.from('itxx'));
    search.feed(0x9004, Buffer.from('split'));
    search.flush();
    assert.deepEqual(hits.map((h) => [h.address, h.context.toString()]), [[0x9004, 'itxxsplit']]);
  });

  it('stops when told to', () => {
    const hits: RawHit[] = [];
    const search = new StreamSearch(textMatcher('a'), 0, (hit) => (hits.push(hit), hits.length < 3));
    search.feed(0, Buffer.from('aaaaaaaa'));
    search.flush();
    assert.equal(hits.length, 3);
    assert.ok(search.done);
  });

  it('refuses an empty search and a broken regular expression', () => {
    assert.throws(() => textMatcher(''), /at least one character/);
    assert.throws(() => regexMatcher('a('), /is not a regular expression/);
  });
});

describe('searchMemory and memoryMaps on a real archive', () => {
  it('finds "sleep" in the sleep process where checkpointctl memparse --search finds it', async () => {
    // checkpointctl 1.3.0 memparse --pid 6 --search sleep, on this archive with its pagemaps in the
    // pre-4.2 layout (test/lab/inspect.test.ts does the same comparison live).
    const result = await searchMemory(sleeper, { text: 'sleep', pid: 6, contextBytes: 16 });
    assert.deepEqual(result.hits.map((h) => h.address), ['0x7fffe0007f4c', '0x7fffe0007fe3', '0x7fffe0007ff2']);
    assert.deepEqual(result.pids, [6]);
    assert.equal(result.searchedBytes, 114688);
    const first = result.hits[0]!;
    assert.equal(first.mapping, '[stack]');
    assert.equal(first.context.slice(first.matchOffset, first.matchOffset + first.matchLength), 'sleep');
    assert.equal(Buffer.from(first.contextHex, 'hex').subarray(first.matchOffset, first.matchOffset + 5).toString(), 'sleep');
  });

  it('searches every process for a regular expression, and stops at maxHits', async () => {
    const all = await searchMemory(sleeper, { regex: 'HOSTNAME=[0-9a-f]{12}' });
    assert.deepEqual([...new Set(all.hits.map((h) => h.pid))], [1, 6]);
    assert.ok(all.hits.every((h) => /HOSTNAME=040b7ac77602/.test(h.context)));
    const two = await searchMemory(sleeper, { regex: 'HOSTNAME=[0-9a-f]{12}', maxHits: 2 });
    assert.equal(two.hits.length, 2);
    assert.equal(two.truncated, true);
  });

  it('names the processes there are when asked for one that is not', async () => {
    await assert.rejects(searchMemory(sleeper, { text: 'x', pid: 99 }), /has no process 99; it has 1, 6/);
  });

  it('lists memory areas as /proc/PID/maps would, with what the checkpoint holds of each', async () => {
    const [maps] = await memoryMaps(native);
    assert.equal(maps!.command, 'counter');
    const text = maps!.areas.map((a) => `${a.start.toString(16)}-${a.end.toString(16)} ${a.permissions} ${a.mapping} ${a.residentBytes}`);
    assert.deepEqual(text, [
      '400000-401000 r--p /app/counter 0',
      '401000-47a000 r-xp /app/counter 4096',
      '47a000-4a2000 r--p /app/counter 0',
      '4a2000-4a6000 r--p /app/counter 8192',
      '4a6000-4a9000 rw-p /app/counter 12288',
      '4a9000-4ae000 rw-p [anon] 8192',
      'f0ad000-f0cf000 rw-p [heap] 12288',
      '7fe992f11000-7fe992f17000 r--p [vvar] 0',
      '7fe992f17000-7fe992f19000 r-xp [vdso] 8192',
      '7ffdac53a000-7ffdac55b000 rw-p [stack] 8192',
      'ffffffffff600000-ffffffffff601000 --xp [vsyscall] 0',
    ]);
  });
});
