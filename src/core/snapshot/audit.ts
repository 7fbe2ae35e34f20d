// The store's audit log: one JSON line for every checkpoint, push, restore, discard, delete and
// migration's removal of its source — who (the local user), when, which host, container and
// snapshot, what was done. Snapshots and copies hold production's secrets; this says where they
// went. The file is only ever appended to (O_APPEND, never rewritten), 0600 in the 0700 store, and
// never followed through a link.
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';

export type AuditAction = 'checkpoint' | 'push' | 'restore' | 'restore-in-place' | 'discard' | 'delete' | 'remove-source';

export interface AuditEntry {
  /** ISO time. */
  at: string;
  /** The local user who did it. */
  user: string;
  action: AuditAction;
  /** Where it happened: the source host of a checkpoint, the target of a push or restore. */
  host?: string;
  container?: string;
  snapshot?: string;
  /** One more fact where it matters (the path of a pushed archive, "copy" or "migration", where a removed source went). */
  detail?: string;
}

export const auditFileName = 'audit.jsonl';

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? `uid ${process.getuid?.() ?? '?'}`;
  }
}

export interface AuditOptions {
  now?: () => Date;
  user?: string;
  /**
   * Told when a line cannot be written. The work it records is done by then (a copy runs, an
   * archive was sent), so failing it afterwards would only hide what happened: it is reported.
   */
  onError?: (message: string) => void;
}

export class AuditLog {
  private readonly now: () => Date;
  private readonly user: string;

  constructor(
    readonly path: string,
    private readonly options: AuditOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.user = options.user ?? localUser();
  }

  /** Appends one line (creating the store folder's file 0600 if needed); never throws. */
  record(entry: Omit<AuditEntry, 'at' | 'user'>): AuditEntry {
    const line: AuditEntry = { at: this.now().toISOString(), user: this.user, ...entry };
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      const fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
      try {
        if ((fstatSync(fd).mode & 0o777) !== 0o600) fchmodSync(fd, 0o600);
        writeSync(fd, JSON.stringify(line) + '\n');
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      this.options.onError?.(`could not write the audit log ${this.path}: ${(error as Error).message} (${JSON.stringify(line)})`);
    }
    return line;
  }

  /** Every line so far, oldest first; lines that are not ours are skipped. */
  read(): AuditEntry[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').flatMap((line) => {
      try {
        const entry = JSON.parse(line) as AuditEntry;
        return typeof entry.at === 'string' && typeof entry.action === 'string' ? [entry] : [];
      } catch {
        return [];
      }
    });
  }
}
