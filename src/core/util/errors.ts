// Errors the product shows: one clear sentence (message), what to do about it (fix), and the
// tool's own words (detail: podman's stderr, the tail of CRIU's dump.log) for those who need them.

export interface SnapdebugErrorOptions {
  detail?: string;
  fix?: string;
  cause?: unknown;
  /** Path of a CRIU log on the host whose tail explains the failure. */
  criuLog?: { host: string; path: string };
}

export class SnapdebugError extends Error {
  readonly detail: string | undefined;
  readonly fix: string | undefined;
  readonly criuLog: { host: string; path: string } | undefined;

  constructor(message: string, options: SnapdebugErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SnapdebugError';
    this.detail = options.detail;
    this.fix = options.fix;
    this.criuLog = options.criuLog;
  }
}

/** Text of an error for a log or a terminal: sentence, fix, then detail. */
export function describeError(error: unknown): string {
  if (error instanceof SnapdebugError) {
    return [error.message, error.fix && `fix: ${error.fix}`, error.detail && error.detail.trimEnd()].filter(Boolean).join('\n');
  }
  return error instanceof Error ? error.message : String(error);
}
