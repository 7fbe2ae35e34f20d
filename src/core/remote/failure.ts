// A workflow that failed says in which phase, and what the hosts undid, in its message: "no
// snapdebug file of that work remains" is something the user should not have to check by hand.
import { AbortError, isAbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import type { ProgressEvent, ProgressSink } from '../util/progress';

const undoneWords: Record<string, (arg: string) => string> = {
  stream: () => 'ended the checkpoint once CRIU was done',
  images: () => 'removed the checkpoint images',
  container: (name) => `removed the half-made container ${name}`,
  volume: (name) => `removed the volume ${name}`,
  unstop: (name) => `started ${name} again`,
  unmount: (what) => `unmounted the ${what} it read files from`,
  keep: () => 'removed the files kept for it',
  copyfile: (name) => `removed the file it was writing in ${name}`,
  fence: () => "took down the copy's fence (its network and rules)",
};

/** "stream 123 abc" (from RemoteWork.abandon) in words. */
export function describeUndone(line: string): string {
  const [kind = '', arg = ''] = line.split(' ');
  return undoneWords[kind]?.(arg) ?? line;
}

export interface Cleaned {
  host: string;
  /** What was undone there; undefined when the host could not be reached (its watchdog does it). */
  undone: string[] | undefined;
}

/** Kept on an annotated error, so that an outer workflow adds its own cleanup instead of a second suffix. */
const cleanupOf = Symbol('snapdebug cleanup');
interface CleanupNote {
  base: Error;
  phase: string | undefined;
  cleaned: Cleaned[];
}

/** The failed (or cancelled) workflow's error, with the phase and the cleanup it caused. */
export function withCleanup(error: unknown, phase: string | undefined, cleaned: Cleaned[]): Error {
  const prior = (error as { [cleanupOf]?: CleanupNote } | undefined)?.[cleanupOf];
  const base = prior?.base ?? (error instanceof Error ? error : new Error(String(error)));
  const note: CleanupNote = { base, phase: prior?.phase ?? phase, cleaned: [...(prior?.cleaned ?? []), ...cleaned] };
  const what = note.cleaned
    .map(({ host, undone }) =>
      undone === undefined
        ? `on ${host}: nothing from here (unreachable); ${host} undoes the work by itself once the session's lease runs out`
        : `on ${host}: ${[...new Set(undone.map(describeUndone)), 'removed its temporary files'].join(', ')}`,
    )
    .join('; ');
  const during = note.phase ?? 'preparation';
  let annotated: Error;
  if (isAbortError(base)) {
    annotated = new AbortError(`cancelled during ${during}; cleaned up ${what || 'nothing, none was needed'}`);
  } else if (base instanceof SnapdebugError) {
    annotated = new SnapdebugError(`${base.message.replace(/\.$/, '')} (failed during ${during}; cleaned up ${what || 'nothing, none was needed'}).`, {
      ...(base.detail !== undefined && { detail: base.detail }),
      ...(base.fix !== undefined && { fix: base.fix }),
      ...(base.criuLog && { criuLog: base.criuLog }),
      cause: base,
    });
    Object.setPrototypeOf(annotated, Object.getPrototypeOf(base)); // a StreamInterruptedError stays one
  } else {
    annotated = new SnapdebugError(`${base.message} (failed during ${during}; cleaned up ${what || 'nothing, none was needed'}).`, { cause: base });
  }
  Object.defineProperty(annotated, cleanupOf, { value: note });
  return annotated;
}

/** Wraps a progress sink to remember the phase last reported. */
export function phaseTracker(sink: ProgressSink | undefined): { sink: ProgressSink; phase(): string | undefined } {
  let last: string | undefined;
  return {
    sink: (event: ProgressEvent) => {
      last = event.phase;
      sink?.(event);
    },
    phase: () => last,
  };
}
