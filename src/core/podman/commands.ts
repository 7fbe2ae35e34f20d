// What to run: each podman command as a typed builder returning its argv and the parser of its
// output. Running it (over SSH or locally, with sudo or not) is Host's business.
import type * as z from 'zod/mini';
import { SnapdebugError } from '../util/errors';
import { validateContainerRef, validateImageRef, validateRemotePath, validateVolumeName } from './names';
import {
  checkpointOptionInfo,
  optionWords,
  restoreOptionInfo,
  validateCheckpointOptions,
  validateRestoreOptions,
  type CheckpointOptions,
  type RestoreOptions,
} from './options';
import {
  imagesSchema,
  infoSchema,
  inspectSchema,
  psSchema,
  versionSchema,
  type ImageEntry,
  type InspectEntry,
  type PodmanInfo,
  type PodmanVersion,
  type PsEntry,
} from './schemas';

export interface PodmanCommand<T> {
  /** Arguments after `podman`. */
  argv: string[];
  parse(stdout: string): T;
  /** Whether a non-zero exit is an answer (e.g. "no such container") rather than a failure. */
  acceptExit?: (code: number | null, stderr: string) => boolean;
  /** Reads only: safe to run again when the channel closed without an exit status. */
  readOnly?: boolean;
}

/** One line per problem: where in podman's answer, and what was expected there. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.code === 'invalid_type' ? `expected ${i.expected}` : i.code.replace(/_/g, ' ')}`).join('\n');
}

function parseJson<S extends z.ZodMiniType>(schema: S, what: string): (stdout: string) => z.output<S> {
  return (stdout) => {
    let data: unknown;
    try {
      data = JSON.parse(stdout);
    } catch {
      throw new SnapdebugError(`podman ${what} did not print JSON.`, { detail: stdout.slice(0, 500) });
    }
    const result = schema.safeParse(data);
    if (!result.success) {
      throw new SnapdebugError(`podman ${what} answered in a form this version of snapdebug does not understand.`, {
        detail: describeIssues(result.error.issues),
      });
    }
    return result.data;
  };
}

const text = (stdout: string) => stdout;

export const podman = {
  version(): PodmanCommand<PodmanVersion> {
    return { readOnly: true, argv: ['version', '--format', 'json'], parse: parseJson(versionSchema, 'version') };
  },

  info(): PodmanCommand<PodmanInfo> {
    return { readOnly: true, argv: ['info', '--format', 'json'], parse: parseJson(infoSchema, 'info') };
  },

  ps(): PodmanCommand<PsEntry[]> {
    return { readOnly: true, argv: ['ps', '--all', '--format', 'json'], parse: parseJson(psSchema, 'ps') };
  },

  inspect(refs: string[]): PodmanCommand<InspectEntry[]> {
    return {
      readOnly: true,
      argv: ['container', 'inspect', '--format', 'json', ...refs.map(validateContainerRef)],
      parse: parseJson(inspectSchema, 'container inspect'),
    };
  },

  /** podman's own JSON for a container, unparsed, for people to read. */
  inspectText(ref: string): PodmanCommand<string> {
    return { readOnly: true, argv: ['container', 'inspect', validateContainerRef(ref)], parse: text };
  },

  /** `podman top` with fixed descriptors; COMMAND is last so its spaces survive. */
  top(ref: string): PodmanCommand<TopProcess[]> {
    return { readOnly: true, argv: ['top', validateContainerRef(ref), 'user', 'pid', 'ppid', 'etime', 'args'], parse: parseTop };
  },

  images(): PodmanCommand<ImageEntry[]> {
    return { readOnly: true, argv: ['images', '--format', 'json'], parse: parseJson(imagesSchema, 'images') };
  },

  imageExists(ref: string): PodmanCommand<boolean> {
    return { readOnly: true, argv: ['image', 'exists', validateImageRef(ref)], parse: () => true, acceptExit: (code) => code === 1 };
  },

  /** Mounts an image's root file system read-only on the host; prints where. */
  imageMount(ref: string): PodmanCommand<string> {
    return { argv: ['image', 'mount', validateImageRef(ref)], parse: (stdout) => stdout.trim() };
  },

  imageUnmount(ref: string): PodmanCommand<string> {
    return { argv: ['image', 'unmount', validateImageRef(ref)], parse: text };
  },

  /** Mounts a container's root file system on the host (a running container stays as it is). */
  containerMount(ref: string): PodmanCommand<string> {
    return { argv: ['container', 'mount', validateContainerRef(ref)], parse: (stdout) => stdout.trim() };
  },

  containerUnmount(ref: string): PodmanCommand<string> {
    return { argv: ['container', 'unmount', validateContainerRef(ref)], parse: text };
  },

  containerExists(ref: string): PodmanCommand<boolean> {
    return { readOnly: true, argv: ['container', 'exists', validateContainerRef(ref)], parse: () => true, acceptExit: (code) => code === 1 };
  },

  checkpointHelp(): PodmanCommand<string> {
    return { readOnly: true, argv: ['container', 'checkpoint', '--help'], parse: text };
  },

  restoreHelp(): PodmanCommand<string> {
    return { readOnly: true, argv: ['container', 'restore', '--help'], parse: text };
  },

  /**
   * Checkpoint into an archive at `exportTo`, a path on the host: a file, or the FIFO a streamed
   * checkpoint is read from (snapshot/streamCheckpoint.ts). podman prints the container's name on
   * stdout when done, so a stream never goes to stdout, or that name would end up glued to the
   * end of the archive.
   */
  checkpoint(ref: string, options: CheckpointOptions, exportTo: string | undefined): PodmanCommand<string> {
    validateCheckpointOptions(options);
    const argv = ['container', 'checkpoint', ...optionWords(checkpointOptionInfo, options, 'podman')];
    if (exportTo !== undefined) argv.push('--export', validateRemotePath(exportTo));
    argv.push(validateContainerRef(ref));
    return { argv, parse: text };
  },

  /** Restore from an archive on the host (`--import`), or in place when `archive` is undefined. */
  restore(target: { archive: string } | { container: string }, options: RestoreOptions): PodmanCommand<string> {
    validateRestoreOptions(options);
    const argv = ['container', 'restore', ...optionWords(restoreOptionInfo, options, 'podman')];
    if ('archive' in target) {
      argv.push('--import', validateRemotePath(target.archive));
    } else {
      if (options.name !== undefined || (options.publish?.length ?? 0) > 0 || options.pod !== undefined) {
        const { name, publish, pod } = restoreOptionInfo;
        throw new SnapdebugError(`${name.label}, ${publish.label} and ${pod.label} apply to a restore from an archive, not to a restore in place.`);
      }
      argv.push(validateContainerRef(target.container));
    }
    return { argv, parse: (stdout) => stdout.trim().split('\n').at(-1) ?? '' };
  },

  /** Runs a program inside a container; `privileged` grants ptrace (debugger injection). */
  exec(ref: string, argv: string[], options: { privileged?: boolean } = {}): PodmanCommand<string> {
    if (argv.length === 0) throw new SnapdebugError('podman exec needs a program to run.');
    return { argv: ['exec', ...(options.privileged ? ['--privileged'] : []), validateContainerRef(ref), ...argv], parse: text };
  },

  /** `podman top` with host PIDs, to find a process of the container as the host sees it. */
  topHostPids(ref: string): PodmanCommand<Array<{ hostPid: number; pid: number; command: string }>> {
    return {
      readOnly: true,
      argv: ['top', validateContainerRef(ref), 'hpid', 'pid', 'args'],
      parse: (stdout) =>
        stdout
          .split('\n')
          .slice(1)
          .filter((l) => l.trim() !== '')
          .map((line) => {
            const [hostPid, pid, ...rest] = line.trim().split(/\s+/);
            return { hostPid: Number(hostPid), pid: Number(pid), command: rest.join(' ') };
          }),
    };
  },

  start(ref: string): PodmanCommand<string> {
    return { argv: ['start', validateContainerRef(ref)], parse: text };
  },

  /** `force` stops a running container first, after `stopSeconds` of SIGTERM (default 10). */
  remove(ref: string, options: { force?: boolean; stopSeconds?: number } = {}): PodmanCommand<string> {
    const time = String(Math.max(0, Math.floor(options.stopSeconds ?? 10)));
    return { argv: ['rm', ...(options.force ? ['--force', '--time', time] : []), validateContainerRef(ref)], parse: text };
  },

  volumeExists(name: string): PodmanCommand<boolean> {
    return { readOnly: true, argv: ['volume', 'exists', validateVolumeName(name)], parse: () => true, acceptExit: (code) => code === 1 };
  },

  volumeRemove(name: string): PodmanCommand<string> {
    return { argv: ['volume', 'rm', '--force', validateVolumeName(name)], parse: text };
  },

  logs(ref: string, tail: number): PodmanCommand<string> {
    return { readOnly: true, argv: ['logs', '--tail', String(Math.max(1, Math.floor(tail))), validateContainerRef(ref)], parse: text };
  },

  /** Writes the image to standard output (`--output /dev/stdout` fails on a pipe: leave it out). */
  save(image: string): PodmanCommand<string> {
    return { argv: ['save', '--format', 'oci-archive', validateImageRef(image)], parse: text };
  },

  /** Reads an image archive from standard input. */
  load(): PodmanCommand<string> {
    return { argv: ['load', '--quiet'], parse: text };
  },
};

export interface TopProcess {
  user: string;
  pid: number;
  ppid: number;
  elapsed: string;
  command: string;
}

export function parseTop(stdout: string): TopProcess[] {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(1).map((line) => {
    const [user, pid, ppid, elapsed, ...rest] = line.trim().split(/\s+/);
    return { user: user!, pid: Number(pid), ppid: Number(ppid), elapsed: elapsed!, command: rest.join(' ').trim() };
  });
}
