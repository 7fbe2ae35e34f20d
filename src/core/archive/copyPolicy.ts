// The allowlist a copy's config.dump and spec.dump must pass before anything is restored. podman
// rebuilds the copy from these two files (libpod RestoreContainer: the container from config.dump,
// its OCI spec from spec.dump, minus the few mounts it makes itself), and whoever controls the
// source host or the archive controls them: a hook, a capability, a device or a bind mount in them
// acts on the debug host, as root. A copy gets what an unprivileged podman container gets and the
// bind mounts the original had (as `podman inspect` recorded them at checkpoint time), only where
// the debug host has their source. A refusal is one sentence saying what and why.
import type { Host } from '../host';
import { SnapdebugError } from '../util/errors';

/** A mount of the original container, from `podman inspect` (SnapshotMeta.source.mounts). */
export interface RecordedMount {
  type: string;
  source: string;
  destination: string;
  rw: boolean;
}

/** What the snapshot recorded of the container a copy comes from. */
export interface OriginalContainer {
  mounts?: RecordedMount[];
  volumes?: string[];
}

export interface CopyDumps {
  configDump: Buffer;
  specDump: Buffer;
}

type Json = Record<string, unknown>;

/** containers.conf's default_capabilities (podman 4 and 5). */
const defaultCapabilities = new Set([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
]);
/** Mounts podman removes from an imported spec and makes anew for the copy (libpod setupContainer). */
const remadeByPodman = new Set(['/dev/shm', '/etc/resolv.conf', '/etc/hostname', '/etc/hosts', '/run/.containerenv', '/var/run/.containerenv', '/run/secrets', '/var/run/secrets']);
const kernelFilesystems = new Set(['proc', 'sysfs', 'tmpfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2']);
const ownNamespaces = ['pid', 'ipc', 'uts', 'mount', 'network'];
/** Paths every unprivileged podman container gets masked / read-only (podman 3 to 5 alike). */
const mustBeMasked = ['/proc/kcore', '/proc/keys', '/sys/firmware'];
const mustBeReadOnly = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus'];
/** Annotations the OCI runtime acts on, except the values podman itself writes. */
const runtimeAnnotation = /^(org\.criu\.|run\.oci\.|org\.systemd\.property\.)/;
const podmanAnnotations = new Set(['org.systemd.property.KillSignal', 'org.systemd.property.TimeoutStopUSec', 'run.oci.keep_original_groups']);
const hookKinds = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

const refusedFix = 'snapdebug restores copies of unprivileged containers only; if this archive should not say so, take a new snapshot.';

function refuse(what: string, fix = refusedFix): never {
  throw new SnapdebugError(`${what}: the copy is refused, and nothing was restored.`, { fix });
}

function object(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function strings(value: unknown): string[] {
  return list(value).filter((item): item is string => typeof item === 'string');
}

function parse(file: string, dump: Buffer): Json {
  let value: unknown;
  try {
    value = JSON.parse(dump.toString('utf8'));
  } catch {
    refuse(`The archive's ${file} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) refuse(`The archive's ${file} is not a JSON object`);
  return value as Json;
}

function checkHooks(file: string, spec: Json): void {
  const hooks = object(spec['hooks']);
  for (const kind of hookKinds) {
    const first = object(list(hooks[kind])[0]);
    if (list(hooks[kind]).length > 0) refuse(`${file} asks for the OCI hook ${JSON.stringify(first['path'] ?? '?')} (${kind}), which would run as root on the debug host`);
  }
}

function checkConfig(config: Json): void {
  if (config['privileged'] === true) refuse('config.dump asks for a privileged container, which a copy never is');
  if (config['mountAllDevices'] === true) refuse("config.dump mounts all of the host's devices into the container");
  if (typeof config['rootfs'] === 'string' && config['rootfs'] !== '') refuse(`config.dump runs the container on the host folder ${JSON.stringify(config['rootfs'])} instead of its image`);
  checkHooks('config.dump', object(config['spec']));
}

function checkProcess(spec: Json): void {
  const caps = object(object(spec['process'])['capabilities']);
  const extra = new Set(['bounding', 'effective', 'permitted', 'inheritable', 'ambient'].flatMap((set) => strings(caps[set]).filter((cap) => !defaultCapabilities.has(cap))));
  if (extra.size > 0) refuse(`spec.dump gives the container ${[...extra].join(', ')}, beyond podman's default capabilities`);
}

function checkLinux(spec: Json, config: Json): void {
  const linux = object(spec['linux']);
  const device = object(list(linux['devices'])[0]);
  if (list(linux['devices']).length > 0) refuse(`spec.dump adds the host device ${JSON.stringify(device['path'] ?? '?')} to the container`);
  const rule = list(object(linux['resources'])['devices']).map(object).find((r) => r['allow'] === true);
  if (rule) refuse(`spec.dump lets the container use host devices (a device rule allows ${JSON.stringify(`${rule['type'] ?? 'a'} ${rule['major'] ?? '*'}:${rule['minor'] ?? '*'}`)})`);
  const namespaces = list(linux['namespaces']).map(object);
  for (const type of ownNamespaces) {
    if (!namespaces.some((ns) => ns['type'] === type)) refuse(`spec.dump puts the container in the host's ${type} namespace`);
  }
  for (const ns of namespaces) {
    const path = ns['path'];
    if (path === undefined || path === '') continue;
    // podman replaces the network namespace it created (createNetNS) with the copy's own.
    const own = ns['type'] === 'network' && config['createNetNS'] === true && typeof path === 'string' && /^\/run\/netns\/[\w.-]+$/.test(path);
    if (!own) refuse(`spec.dump joins the container to the ${String(ns['type'])} namespace at ${JSON.stringify(path)} on the debug host`);
  }
  const masked = strings(linux['maskedPaths']);
  const readOnly = strings(linux['readonlyPaths']);
  for (const path of mustBeMasked) if (!masked.includes(path)) refuse(`spec.dump leaves ${path} visible in the container (podman masks it)`);
  for (const path of mustBeReadOnly) if (!readOnly.includes(path)) refuse(`spec.dump leaves ${path} writable in the container (podman makes it read-only)`);
}

function checkAnnotations(spec: Json): void {
  for (const key of Object.keys(object(spec['annotations']))) {
    if (runtimeAnnotation.test(key) && !podmanAnnotations.has(key)) refuse(`spec.dump carries the annotation ${key}, which steers the OCI runtime on the debug host`);
  }
}

/**
 * The bind mounts of spec.dump that reach the debug host's files: each must be one the original
 * had (same source and destination, no more writable), or a named volume of the original.
 * Returns those whose source the debug host must have.
 */
function checkMounts(spec: Json, config: Json, original: OriginalContainer): Array<{ source: string; destination: string }> {
  const volumes = new Set(list(config['namedVolumes']).map((v) => object(v)['volumeName']).filter((name) => typeof name === 'string' && original.volumes?.includes(name)));
  const needed: Array<{ source: string; destination: string }> = [];
  // podman removes only the first mount at each of those destinations: a second one stays.
  const remade = new Set<string>();
  for (const mount of list(spec['mounts']).map(object)) {
    const destination = String(mount['destination'] ?? '');
    const source = String(mount['source'] ?? '');
    const options = strings(mount['options']);
    const bind = mount['type'] === 'bind' || options.includes('bind') || options.includes('rbind');
    if (remadeByPodman.has(destination) && !remade.has(destination)) {
      remade.add(destination);
      continue;
    }
    if (!bind && kernelFilesystems.has(String(mount['type']))) continue;
    const recorded = original.mounts?.find((m) => m.source === source && m.destination === destination);
    const volume = [...volumes].find((name) => source.endsWith(`/volumes/${String(name)}/_data`));
    if (volume !== undefined && (original.mounts === undefined || recorded?.type === 'volume')) continue;
    if (!recorded || recorded.type !== 'bind') refuse(`spec.dump mounts ${JSON.stringify(source)} from the host at ${destination}, which the original container did not`);
    if (!recorded.rw && !options.includes('ro')) refuse(`spec.dump mounts ${source} writable at ${destination}, where the original had it read-only`);
    needed.push({ source, destination });
  }
  return needed;
}

/**
 * Throws a SnapdebugError saying what and why when a copy may not be restored from these dumps;
 * `hostHas` answers whether the debug host has a path (only asked for the original's bind mounts).
 */
export async function approveCopy(dumps: CopyDumps, original: OriginalContainer, hostHas: (path: string) => Promise<boolean>): Promise<void> {
  const config = parse('config.dump', dumps.configDump);
  const spec = parse('spec.dump', dumps.specDump);
  checkConfig(config);
  checkHooks('spec.dump', spec);
  checkProcess(spec);
  checkLinux(spec, config);
  checkAnnotations(spec);
  for (const { source, destination } of checkMounts(spec, config, original)) {
    if (!(await hostHas(source))) {
      refuse(`The debug host has no ${source}, which the copy would mount at ${destination}`, `Create ${source} on the debug host, or restore the copy on a host that has it.`);
    }
  }
}

/** Whether a path exists on a host, as root sees it (podman runs as root). Argv only. */
export function pathProbe(host: Pick<Host, 'name' | 'runner' | 'privileged' | 'options'>, signal?: AbortSignal): (path: string) => Promise<boolean> {
  return async (path) => {
    // As root: the source may sit in a folder only root can read. Through sudo, `test` runs under
    // nsenter (in the host's own mount namespace), one of the few programs a sudo rule names.
    const argv = host.options.sudo ? ['nsenter', '--target', '1', '--mount', '--', 'test', '-e', path] : ['test', '-e', path];
    const result = await host.runner.run(host.privileged(argv), signal ? { signal } : {});
    if (result.exitCode === 0 || result.exitCode === 1) return result.exitCode === 0;
    throw new SnapdebugError(`Checking whether ${path} exists on ${host.name} failed${result.exitCode === null ? '' : ` (exit ${result.exitCode})`}.`, { detail: result.stderr });
  };
}
