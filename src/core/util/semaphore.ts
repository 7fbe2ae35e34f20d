// A counting semaphore: at most `limit` holders at once, the rest wait in order. Used to keep the
// channels open on one SSH connection under sshd's MaxSessions.
import { AbortError } from './abort';

export class Semaphore {
  private held = 0;
  private readonly waiting: Array<{ grant: () => void; reject: (error: Error) => void }> = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.held;
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
