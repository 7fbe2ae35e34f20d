// Progress of long work, as plain events: the phase it is in, and bytes done of a total when the
// phase moves data. Front ends turn these into a notification or a terminal bar.

export type Phase =
  | 'connect'
  | 'checkpoint'
  | 'pull'
  | 'push'
  | 'verify'
  | 'restore'
  | 'transfer-image'
  | 'attach'
  | 'cleanup'
  | 'migrate'
  | 'fetch';

export interface ProgressEvent {
  phase: Phase;
  /** A sentence for people: what is happening now. */
  message: string;
  bytes?: number;
  total?: number;
}

export type ProgressSink = (event: ProgressEvent) => void;

export const noProgress: ProgressSink = () => undefined;
