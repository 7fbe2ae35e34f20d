// A copy of a container that held TCP connections gets them back closed. Snapshot & Debug
// checkpoints with --tcp-established (production's connections survive a leave-running
// checkpoint; without it CRIU refuses any container with a connection open). podman refuses
// --tcp-established together with --name, and a copy always has a new name, so the copy must be
// restored with CRIU's tcp-close: podman's --tcp-close where it has one (5.7+) and the restoring
// runtime is crun (podman hands the flag to the runtime, and runc has none: "flag provided but not
// defined: -tcp-close"); otherwise through the runtime, which reads CRIU options from the file
// named by the container's `org.criu.config` annotation instead of its default file (runc: always;
// crun 1.28 with CRIU 4.2's libcriu: seen in the lab). We write that file on the target (the
// runtime's own CRIU options, then tcp-close) and the annotation into the copy's spec.dump. The
// file stays while the copy exists, for the copy's own checkpoints, and goes when it is discarded
// (its path is in the copy's snapdebug.criu-config label).
import type { Host } from '../host';
import { validateRemotePath } from '../podman/names';
import type { RestoreOptions } from '../podman/options';
import { keepPrefix, prelude } from '../remote/shellLib';
import { SnapdebugError } from '../util/errors';

export const criuConfigAnnotation = 'org.criu.config';
export const criuConfigLabel = 'snapdebug.criu-config';
const runcConf = '/etc/criu/runc.conf';
/** crun reads this instead of runc.conf when it exists. */
const crunConf = '/etc/criu/crun.conf';
/** Inside the copy's own kept folder (remote/work.ts keep): removed with the copy, or by the sweep once it is gone. */
export const criuConfigFileName = 'criu.conf';

/** Whether podman's --tcp-close works for a restore by `runtime` on a podman with these flags. */
export function podmanClosesConnections(restoreFlags: ReadonlySet<string>, runtime: string): boolean {
  return restoreFlags.has('--tcp-close') && runtime === 'crun';
}

/**
 * How a copy of a snapshot taken with its TCP connections gets them closed: podman's --tcp-close
 * where the target's podman has it and `runtime` (the one restoring, runtime.ts) takes it (set in
 * `options`; returns false), else a CRIU options file (returns true).
 */
export async function needsCriuConfig(target: Host, options: RestoreOptions, runtime: string): Promise<boolean> {
  if (options.tcpEstablished) {
    throw new SnapdebugError('podman restores established TCP connections only under the original name, and a copy gets a new one.', {
      fix: { text: 'Restore the copy without TCP established: its connections come back closed.', options: [{ name: 'restore.tcpEstablished', value: 'false' }] },
    });
  }
  if (podmanClosesConnections((await target.capabilities()).restoreFlags, runtime)) {
    options.tcpClose = true;
    return false;
  }
  // Asked for --tcp-close where podman or the runtime lacks it: the options file does the same.
  delete options.tcpClose;
  return true;
}

const keptConfig = new RegExp(`^(/[a-zA-Z0-9._/-]+/${keepPrefix.replace('.', '\\.')}[A-Za-z0-9]{10})/${criuConfigFileName.replace('.', '\\.')}$`);
/** What snapdebug before sessions wrote: /var/tmp/snapdebug-criu-COPY.conf. */
const legacyConfig = /\/snapdebug-criu-[a-zA-Z0-9][a-zA-Z0-9_.-]*\.conf$/;

/** Only files we named that way are ever removed on a copy's word (its label). */
export function isCriuConfigPath(path: string): boolean {
  try {
    validateRemotePath(path);
  } catch {
    return false;
  }
  return keptConfig.test(path) || legacyConfig.test(path);
}

export function criuConfigText(copyName: string, hostConfig: string): string {
  return [
    `# Written by snapdebug for the copy ${copyName}: its runtime reads this file instead of ${runcConf}`,
    `# (the copy's ${criuConfigAnnotation} annotation). The host's own options, then tcp-close: the`,
    '# TCP connections checkpointed with the original come back closed in the copy.',
    hostConfig.trimEnd(),
    'tcp-close',
    '',
  ].join('\n');
}

/** The CRIU options file the runtime reads by default: crun's own when it has one, else runc's. */
export function defaultCriuConfigs(runtime: string): string[] {
  return runtime === 'crun' ? [crunConf, runcConf] : [runcConf];
}

/** Arguments: sudo|root, file. Writes stdin to a new file in a folder of ours, never over anything. */
const writeNewFileScript = `${prelude}
d=\${1%/*}
ours "$d" || { echo "$d is not our folder" >&2; exit 2; }
set -C
cat > "$1"
`;

/** The host's own CRIU options for `runtime` (its default file), which the copy's file keeps; "" without one. */
export async function hostCriuOptions(host: Host, runtime = 'runc'): Promise<string> {
  for (const file of defaultCriuConfigs(runtime)) {
    const own = await host.runIdempotent(['cat', file]);
    if (own.exitCode === 0) return own.stdout;
  }
  return '';
}

/** Writes the copy's CRIU options file: the host's own options (read now unless given), then tcp-close. */
export async function writeCriuConfig(host: Host, path: string, copyName: string, runtime = 'runc', hostOptions?: string): Promise<void> {
  const text = criuConfigText(copyName, hostOptions ?? (await hostCriuOptions(host, runtime)));
  const written = await host.runner.run(host.script(writeNewFileScript, [path]), { stdin: text });
  if (written.exitCode !== 0) {
    throw new SnapdebugError(`Cannot write ${path} on ${host.name}, which the copy needs to come back with its TCP connections closed.`, {
      detail: `${written.exitCode === null ? 'no exit status' : `exit ${written.exitCode}`}: ${written.stderr.trim()}`,
    });
  }
}

/** Removes a copy's CRIU options (its kept folder); never throws. */
export async function removeCriuConfig(host: Host, path: string | undefined): Promise<void> {
  if (!path || !isCriuConfigPath(path)) return;
  const folder = keptConfig.exec(path)?.[1];
  const argv = folder ? ['rm', '-rf', folder] : host.privileged(['rm', '-f', path]);
  await host.runner.run(argv).catch(() => undefined);
}
