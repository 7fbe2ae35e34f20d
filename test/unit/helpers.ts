// Small helpers shared by the unit tests: fixture paths, temporary folders that are always
// removed, and feeding a buffer to a streaming parser in awkward pieces.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';

export const fixtureDir = fileURLToPath(new URL('../fixtures/podman-5.4.2/', import.meta.url));

export function fixture(name: string): string {
  return join(fixtureDir, name);
}

/** A fresh folder under the system temp dir; call the returned cleanup in an after hook. */
export function makeTempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `snapdebug-unit-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A temp folder whose path is known when a suite is declared but which is only made by create()
 * (call it in before()), so a suite that mocha skips (--grep) leaves nothing behind.
 */
export function plannedTempDir(prefix: string): { dir: string; create: () => void; cleanup: () => void } {
  const dir = join(tmpdir(), `snapdebug-unit-${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`);
  return {
    dir,
    create: () => mkdirSync(dir, { mode: 0o700 }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A small deterministic PRNG (mulberry32), so "random" chunk sizes are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits a buffer into pieces of 1..maxSize bytes chosen by the seeded PRNG. */
export function randomChunks(data: Buffer, maxSize: number, seed = 1): Buffer[] {
  const random = seededRandom(seed);
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < data.length; ) {
    const size = 1 + Math.floor(random() * maxSize);
    pieces.push(Buffer.from(data.subarray(offset, offset + size)));
    offset += size;
  }
  return pieces;
}

/** Splits a buffer into pieces of exactly `size` bytes (the last may be shorter). */
export function fixedChunks(data: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) pieces.push(Buffer.from(data.subarray(offset, offset + size)));
  return pieces;
}

/**
 * A clock the test moves by hand (the product's Clock interface): now() is what the test set, and
 * timers run when the test moves time past them — no sleeps, no wall clock.
 */
export class ManualClock {
  private current: number;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];

  constructor(start = 1_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.current + ms, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers waiting to run (not cancelled). */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves to `ms`, running every timer due by then, earliest first. */
  set(ms: number): void {
    this.current = ms;
    const due = this.timers.filter((t) => t.at <= ms && !t.cancelled).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((t) => t.at > ms && !t.cancelled);
    for (const timer of due) timer.fn();
  }

  advance(ms: number): void {
    this.set(this.current + ms);
  }
}

/** Splits a POSIX shell line into words (plain words and '…' quoting, as shellQuote writes them). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /\s*((?:'[^']*'|\\.|[^\s'\\])+)/y;
  let end = 0;
  for (let match = pattern.exec(line); match; match = pattern.exec(line)) {
    end = pattern.lastIndex;
    words.push(match[1]!.replace(/'([^']*)'|\\(.)|([^'\\]+)/g, (_m, quoted?: string, escaped?: string, plain?: string) => quoted ?? escaped ?? plain ?? ''));
  }
  assert.equal(line.slice(end).trim(), '', `the whole line splits into words: ${line}`);
  return words;
}

/** Resolves once `condition` holds, checking after every turn of the event loop; fails after `timeoutMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
