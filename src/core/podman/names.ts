// Names and ids that reach a podman command line are checked first: quoting makes any string safe
// for the shell, but podman itself must also read it as one container and nothing else.
import { randomBytes } from 'node:crypto';
import { SnapdebugError } from '../util/errors';

// podman's own rule for container names.
const containerNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const containerIdPattern = /^[0-9a-f]{12,64}$/;
const maxNameLength = 253;

export function validateContainerRef(ref: string): string {
  if (ref.length === 0 || ref.length > maxNameLength || !(containerNamePattern.test(ref) || containerIdPattern.test(ref))) {
    throw new SnapdebugError(`"${ref}" is not a container name or id: names start with a letter or digit and use only letters, digits, _ . -`);
  }
  return ref;
}

/** Volume names follow the same rule as container names. */
export function validateVolumeName(name: string): string {
  if (name.length === 0 || name.length > maxNameLength || !containerNamePattern.test(name)) {
    throw new SnapdebugError(`"${name}" is not a volume name: names start with a letter or digit and use only letters, digits, _ . -`);
  }
  return name;
}

/** Image references: registry/path:tag or @digest; no spaces, no leading dash. */
export function validateImageRef(ref: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/.test(ref) || ref.length > 512) {
    throw new SnapdebugError(`"${ref}" is not an image reference.`);
  }
  return ref;
}

/** Absolute paths on a host for our temporary archives: plain characters only. */
export function validateRemotePath(path: string): string {
  if (!/^\/[a-zA-Z0-9._\-/]+$/.test(path) || path.split('/').includes('..')) {
    throw new SnapdebugError(`"${path}" is not a usable path on the host: use an absolute path of plain characters.`);
  }
  return path;
}

/** Port publications as podman takes them: [[ip:]hostPort:]containerPort[/proto]. */
export function validatePublish(spec: string): string {
  // With an IP, the host port may be left empty: podman picks a free one (127.0.0.1::8080).
  if (!/^((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):(\d{1,5}(-\d{1,5})?)?:|\d{1,5}(-\d{1,5})?:)?\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/.test(spec)) {
    throw new SnapdebugError(`"${spec}" is not a port publication: use [[ip:][hostPort]:]containerPort[/tcp|udp].`);
  }
  return spec;
}

/** Snapshot ids (and the prefixes that name one): the store's file names, so plain words only. */
export function validateSnapshotRef(ref: string): string {
  if (ref.length === 0 || ref.length > maxNameLength || !containerNamePattern.test(ref)) {
    throw new SnapdebugError(`"${ref}" is not a snapshot id: ids start with a letter or digit and use only letters, digits, _ . -`);
  }
  return ref;
}

/**
 * The name of a copy Snapshot & Debug restores: NAME-snap-HHMMSS-xxxxxx (UTC time, then 24 random
 * bits), so two runs started in the same second never collide and the time still reads at a glance.
 */
export function copyName(container: string, now: Date = new Date(), random: () => string = () => randomBytes(3).toString('hex')): string {
  const suffix = `-snap-${now.toISOString().slice(11, 19).replace(/:/g, '')}-${random()}`;
  return validateContainerRef(`${container.slice(0, maxNameLength - suffix.length)}${suffix}`);
}

/** Splits HOST/CONTAINER (the CLI's way of naming a container on a host). */
export function parseContainerAddress(address: string): { host: string; container: string } {
  const slash = address.lastIndexOf('/');
  if (slash <= 0 || slash === address.length - 1) {
    throw new SnapdebugError(`"${address}" does not name a container: write HOST/CONTAINER, e.g. prod/demo-api.`);
  }
  return { host: address.slice(0, slash), container: validateContainerRef(address.slice(slash + 1)) };
}
