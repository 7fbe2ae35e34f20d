// How the CLI speaks. stdout carries results only (one JSON document with --json); stderr carries
// progress: a redrawn bar with bytes and rate on a terminal, plain lines otherwise (logs, CI).
// Every line on stderr goes through redact(): logs, --verbose commands and errors mask secrets.
import { ProgressText, redact, systemClock, type Clock, type ProgressEvent } from '../core';

export interface Output {
  json: boolean;
  result(value: unknown, human: () => string): void;
  progress(event: ProgressEvent): void;
  info(line: string): void;
  /** Ends a progress bar line so the next output starts clean. */
  done(): void;
}

const plainLineEveryMs = 2000;

export function createOutput(options: { json: boolean; stderr?: NodeJS.WriteStream; stdout?: NodeJS.WriteStream; clock?: Clock }): Output {
  const clock = options.clock ?? systemClock;
  const stderr = options.stderr ?? process.stderr;
  const stdout = options.stdout ?? process.stdout;
  const tty = stderr.isTTY === true;
  let lastPhase = '';
  let lastLineAt = 0;
  let barOpen = false;
  const text = new ProgressText(clock);

  return {
    json: options.json,
    result(value, human) {
      this.done();
      stdout.write(options.json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
    },
    progress(event) {
      const line = redact(text.line(event));
      const now = clock.now();
      if (tty) {
        stderr.write(`\r\x1b[2K${line.slice(0, (stderr.columns ?? 100) - 1)}`);
        barOpen = true;
      } else if (event.phase !== lastPhase || event.bytes === undefined || now - lastLineAt >= plainLineEveryMs) {
        stderr.write(line + '\n');
        lastLineAt = now;
      }
      lastPhase = event.phase;
    },
    info(line) {
      this.done();
      stderr.write(redact(line) + '\n');
    },
    done() {
      if (barOpen) stderr.write('\n');
      barOpen = false;
    },
  };
}

/** Columns padded to the widest cell, for terminal tables. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
