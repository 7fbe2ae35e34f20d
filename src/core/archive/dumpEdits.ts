// What a copy's config.dump and spec.dump gain on the way to the debug host (relabel.ts writes
// them back into the archive): our labels, runc's annotations, the copy's own volume names, a
// fenced copy's network; and what they lose: host paths podman would otherwise write to or
// unmount there, labels of ours the archive brought.
import type { OriginalContainer } from './copyPolicy';

type Json = Record<string, unknown>;

function parse(dump: Buffer): Json {
  return JSON.parse(dump.toString('utf8')) as Json;
}

function serialise(value: Json): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/**
 * Our labels over the archive's. Labels of ours the archive brings along are dropped first: they
 * are production's word, and a label such as snapdebug.fence says what discarding the copy removes.
 */
export function addLabels(configDump: Buffer, labels: Record<string, string>): Buffer {
  const config = parse(configDump) as { labels?: Record<string, string> | null };
  const theirs = Object.entries(config.labels ?? {}).filter(([key]) => !key.startsWith('snapdebug.'));
  config.labels = { ...Object.fromEntries(theirs), ...labels };
  return serialise(config);
}

/** Where a fenced copy's network traffic goes (fence/): its own network, and /etc/hosts lines. */
export interface CopyNetwork {
  network: string;
  /** podman's NAME:ADDRESS entries for /etc/hosts. */
  hosts: string[];
}

/**
 * config.dump attached to the fenced copy's network and to nothing else (podman creates the copy's
 * interfaces from newNetworks), under the interface name the original had. The copy does not
 * restart on its own: a copy started after a reboot would come up before any fence does.
 */
export function attachToNetwork(configDump: Buffer, target: CopyNetwork): Buffer {
  const config = parse(configDump) as {
    newNetworks?: Record<string, { interface_name?: string }> | null;
    hostsAdd?: string[] | null;
    UseImageHosts?: boolean;
  } & Json;
  const interfaceName = Object.values(config.newNetworks ?? {}).find((n) => typeof n?.interface_name === 'string')?.interface_name ?? 'eth0';
  config.newNetworks = { [target.network]: { interface_name: /^[a-zA-Z0-9_.-]{1,15}$/.test(interfaceName) ? interfaceName : 'eth0' } };
  config['networkMode'] = 'bridge';
  delete config['restart_policy'];
  delete config['restart_retries'];
  if (target.hosts.length > 0 && config.UseImageHosts !== true) config.hostsAdd = [...(config.hostsAdd ?? []), ...target.hosts];
  return serialise(config);
}

export function addAnnotations(specDump: Buffer, annotations: Record<string, string>): Buffer {
  const spec = parse(specDump) as { annotations?: Record<string, string> | null };
  spec.annotations = { ...(spec.annotations ?? {}), ...annotations };
  return serialise(spec);
}

/** config.dump's named volumes under their new names (old → new). */
export function renameConfigVolumes(configDump: Buffer, volumes: Record<string, string>): Buffer {
  const config = parse(configDump) as { namedVolumes?: Array<{ volumeName: string }> | null };
  for (const volume of config.namedVolumes ?? []) volume.volumeName = volumes[volume.volumeName] ?? volume.volumeName;
  return serialise(config);
}

/**
 * spec.dump's bind mounts of named volumes pointed at the renamed volumes: CRIU restores the
 * mounts from the spec, so without this the copy would write into the old name's volume.
 */
export function renameSpecVolumes(specDump: Buffer, volumes: Record<string, string>): Buffer {
  const spec = parse(specDump) as { mounts?: Array<{ source?: string }> | null };
  for (const mount of spec.mounts ?? []) {
    for (const [from, to] of Object.entries(volumes)) {
      const suffix = `/volumes/${from}/_data`;
      if (mount.source?.endsWith(suffix)) mount.source = `${mount.source.slice(0, -suffix.length)}/volumes/${to}/_data`;
    }
  }
  return serialise(spec);
}

/**
 * config.dump without the host paths podman takes from it as they are: conmon writes its pid
 * files where conmonPidFile and pid_file say (podman resets them only when they lie in its own
 * run folder), and podman unmounts each of `mounts` when the copy stops (the original's /dev/shm
 * on its host). Without them podman puts the copy's pid files and /dev/shm in the copy's folders.
 */
export function dropHostPaths(configDump: Buffer): Buffer {
  const config = parse(configDump);
  delete config['conmonPidFile'];
  delete config['pid_file'];
  delete config['mounts'];
  return serialise(config);
}

/** What a copy's archive gains on its way to the target, and what it is checked against. */
export interface CopyRewrite {
  labels: Record<string, string>;
  /** OCI annotations, written into spec.dump. */
  annotations?: Record<string, string>;
  /** Named volumes the copy gets under new names: old → new. */
  volumes?: Record<string, string>;
  /** A fenced copy's network (fence/), instead of the original's. */
  network?: CopyNetwork;
  /** What the snapshot recorded of the original container; the dumps must agree (copyPolicy.ts). */
  original: OriginalContainer;
}

/** The archive entries a rewrite changes, and how. */
export function entryRewrites(rewrite: Pick<CopyRewrite, 'labels' | 'annotations' | 'volumes' | 'network'>): Record<string, (contents: Buffer) => Buffer> {
  const { labels, annotations, volumes, network } = rewrite;
  const config = (dump: Buffer) => {
    const labelled = dropHostPaths(addLabels(dump, labels));
    const attached = network ? attachToNetwork(labelled, network) : labelled;
    return volumes ? renameConfigVolumes(attached, volumes) : attached;
  };
  const spec = (dump: Buffer) => {
    const annotated = annotations ? addAnnotations(dump, annotations) : dump;
    return volumes ? renameSpecVolumes(annotated, volumes) : annotated;
  };
  return { 'config.dump': config, ...((annotations || volumes) && { 'spec.dump': spec }) };
}

/** The archive entries a rewrite renames: each volume's content, volumes/NAME.tar. */
export function entryRenames(rewrite: Pick<CopyRewrite, 'volumes'>): Record<string, string> {
  return Object.fromEntries(Object.entries(rewrite.volumes ?? {}).map(([from, to]) => [`volumes/${from}.tar`, `volumes/${to}.tar`]));
}
