// The undo list of one benchmark: everything it creates (files and containers on hosts, local
// folders, extra hosts, processes) registers how to remove it, and run.ts runs the list newest
// first in every outcome, Ctrl-C included. One failing step is reported and the others still run.
export type Say = (line: string) => void;

interface Step {
  what: string;
  run: () => Promise<unknown> | unknown;
}

export class Cleanup {
  private readonly steps: Step[] = [];

  /** Registers an undo step; the returned function runs it now (once) and forgets it. */
  add(what: string, run: () => Promise<unknown> | unknown): () => Promise<void> {
    const step: Step = { what, run };
    this.steps.push(step);
    return async () => {
      const at = this.steps.indexOf(step);
      if (at < 0) return;
      this.steps.splice(at, 1);
      await step.run();
    };
  }

  get pending(): number {
    return this.steps.length;
  }

  /** Runs every step left, newest first; returns the ones that failed. */
  async runAll(say: Say): Promise<string[]> {
    const failures: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (error) {
        const line = `${step.what}: ${(error as Error).message.split('\n')[0]}`;
        failures.push(line);
        say(`cleanup failed: ${line}`);
      }
    }
    return failures;
  }
}
