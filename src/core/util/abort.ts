// Cancellation in the core is an AbortSignal end to end; a cancel is reported as AbortError,
// which every front end shows as "cancelled", never as a failure.

export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof AbortError || (error instanceof Error && error.name === 'AbortError');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError();
}

/** Runs cleanup when the signal aborts; returns a function that stops listening. */
export function onAbort(signal: AbortSignal | undefined, cleanup: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    cleanup();
    return () => undefined;
  }
  signal.addEventListener('abort', cleanup, { once: true });
  return () => signal.removeEventListener('abort', cleanup);
}
