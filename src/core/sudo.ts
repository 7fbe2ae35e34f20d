// A sudo rule that lacks a program snapdebug runs, explained: `sudo -n` only says "a password is
// required" (for a program the rule does not name, too), so we find the program's path the way
// sudo does (Debian's secure_path, as the login user) and name the exact sudoers line to add.
import type { Host } from './host';
import { SnapdebugError } from './util/errors';

/** What `sudo -n` prints when the rule does not let the user run the command without a password. */
export const sudoRefused = /sudo: a password is required|is not allowed to execute|is not in the sudoers file|may not run sudo/i;

/** Where sudo looks for a program given without a path (Debian's and most distributions' secure_path). */
export const securePath = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Prints the login user's name, then the program's path under securePath (if there is one). */
const lookupScript = `id -un; for d in ${securePath.join(' ')}; do if [ -x "$d/$1" ]; then echo "$d/$1"; exit 0; fi; done`;

/** The program sudo is asked to run in a privileged argv (`sudo -n PROGRAM ...`). */
export function sudoProgram(argv: readonly string[]): string {
  const at = argv.indexOf('-n');
  return argv[argv[0] === 'sudo' && at >= 0 ? at + 1 : 0] ?? 'the command';
}

export function sudoRefusalError(hostName: string, user: string, program: string, path: string | undefined): SnapdebugError {
  const line = `${user} ALL=(root) NOPASSWD: ${path ?? `/full/path/of/${program}`}`;
  return new SnapdebugError(`sudo on ${hostName} does not let ${user} run ${program} without a password, which snapdebug needs.`, {
    fix: `Add the line "${line}" to /etc/sudoers.d/snapdebug on ${hostName} (visudo -f /etc/sudoers.d/snapdebug), or connect as root.`,
  });
}

/** The error for `sudo -n PROGRAM` refused on `host`: the user and the program's path, asked there. */
export async function sudoRefusal(host: Host, program: string): Promise<SnapdebugError> {
  const found = await host.runIdempotent(['sh', '-c', lookupScript, 'sh', program]).catch(() => undefined);
  const [user, path] = (found?.stdout ?? '').trim().split('\n');
  return sudoRefusalError(host.name, user || 'the login user', program, path || undefined);
}
