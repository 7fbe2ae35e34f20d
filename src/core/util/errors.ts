// Errors the product shows: one clear sentence (message), what to do about it (fix), and the
// tool's own words (detail: podman's stderr, the tail of CRIU's dump.log) for those who need them.
// A fix is structured: a sentence in the core's words plus the options that carry it out, by their
// core names (options.ts). Each face words those options its own way — the CLI as its flags, VS Code
// as its settings, with a button that opens them — so the core never names a CLI flag or a setting.
import type { OptionName } from '../options';

/** One option a fix turns, and the value to give it when there is a single right one. */
export interface FixOption {
  name: OptionName;
  value?: string;
}

export interface Fix {
  /** What to do, as a sentence in the core's words (no CLI flag, no setting id). */
  text: string;
  /** The options that do it; each face names them (CLI: `--remote-tmp DIR`; VS Code: the setting). */
  options?: FixOption[];
}

export interface SnapdebugErrorOptions {
  detail?: string;
  /** A sentence alone is a fix that names no option. */
  fix?: Fix | string;
  cause?: unknown;
  /** Path of a CRIU log on the host whose tail explains the failure. */
  criuLog?: { host: string; path: string };
}

export class SnapdebugError extends Error {
  readonly detail: string | undefined;
  readonly fix: Fix | undefined;
  readonly criuLog: { host: string; path: string } | undefined;

  constructor(message: string, options: SnapdebugErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SnapdebugError';
    this.detail = options.detail;
    this.fix = typeof options.fix === 'string' ? { text: options.fix } : options.fix;
    this.criuLog = options.criuLog;
  }
}

/** How a face words a fix; the core's own wording (logs, tests) is the sentence and option names. */
export type FixWording = (fix: Fix) => string;

export const plainFixWording: FixWording = (fix) =>
  fix.options?.length ? `${fix.text} (${fix.options.map((o) => (o.value === undefined ? o.name : `${o.name}=${o.value}`)).join(', ')})` : fix.text;

/** The fix of an error, if it has one. */
export function fixOf(error: unknown): Fix | undefined {
  return error instanceof SnapdebugError ? error.fix : undefined;
}

/** Text of an error for a log or a terminal: sentence, fix (worded by the face), then detail. */
export function describeError(error: unknown, wordFix: FixWording = plainFixWording): string {
  if (error instanceof SnapdebugError) {
    return [error.message, error.fix && `fix: ${wordFix(error.fix)}`, error.detail && error.detail.trimEnd()].filter(Boolean).join('\n');
  }
  return error instanceof Error ? error.message : String(error);
}

/** The first line of describeError: the sentence alone. */
export function errorSentence(error: unknown): string {
  return describeError(error).split('\n')[0]!;
}
