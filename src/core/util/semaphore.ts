// A counting semaphore: at most `limit` holders at once, the rest wait in order. Used to keep the
// channels open on one SSH connection under sshd's MaxSessions, and (KeyedLocks) to run one
// checkpoint of a container at a time.
import { AbortError } from './abort';

export class Semaphore {
  private held = 0;
  private readonly waiting: Array<{ grant: () => void; reject: (error: Error) => void }> = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.held;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new AbortError();
    if (this.held < this.limit) {
      this.held++;
      return this.releaser();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.held++;
          resolve(this.releaser());
        },
        reject,
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(new AbortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Fails every waiter, e.g. when the connection they wait for is gone. */
  rejectAll(error: Error): void {
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
      this.waiting.shift()?.grant();
    };
  }
}

/** One holder per key at a time; others with the same key wait in order. */
export class KeyedLocks {
  private readonly locks = new Map<string, Semaphore>();

  async run<T>(key: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let lock = this.locks.get(key);
    if (!lock) {
      lock = new Semaphore(1);
      this.locks.set(key, lock);
    }
    const release = await lock.acquire(signal);
    try {
      return await work();
    } finally {
      release();
      if (lock.inUse === 0 && lock.queued === 0) this.locks.delete(key);
    }
  }

  /** Keys held or waited for. */
  get size(): number {
    return this.locks.size;
  }
}
