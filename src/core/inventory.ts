// What the faces show about hosts and their containers, read through the core so the CLI and VS
// Code show the same: the configured hosts and their addresses, each host's containers (which
// stopped ones hold a checkpoint, which are our copies), their processes, logs and inspect JSON,
// the podman options a host offers, and the tail of a CRIU log an error pointed at.
import type { Core } from './core';
import { cleanStderr } from './host';
import { podman, type TopProcess } from './podman/commands';
import { checkpointOptionInfo, optionKeys, restoreOptionInfo, type CheckpointOptions, type RestoreOptions } from './podman/options';
import { freeName, originLabel } from './snapshot/restore';
import { parseHostSpec } from './ssh/sshConfig';

export interface HostAddress {
  name: string;
  user: string;
  hostName: string;
  port: number;
}

/** Host names of the SSH config, in file order. */
export function configuredHosts(core: Core): string[] {
  return core.hosts.configured();
}

/** Where a host name leads, as the SSH config resolves it. */
export function hostAddress(core: Core, name: string): HostAddress {
  const target = core.hosts.pool.target(name);
  return { name, user: target.user, hostName: target.hostName, port: target.port };
}

/** Checks a host as a person writes it (an SSH config alias, or user@host[:port]); returns it. */
export function validateHostSpec(spec: string): string {
  parseHostSpec(spec);
  return spec;
}

/** The SSH config file the hosts come from. */
export function sshConfigFile(core: Core): string {
  return core.hosts.pool.configFile;
}

/** Drops a host's connections, so the next use connects afresh (a retry after a failure). */
export function forgetHost(core: Core, name: string): void {
  core.hosts.forget(name);
}

export interface ContainerInfo {
  host: string;
  name: string;
  id: string;
  image: string;
  state: string;
  /** Seconds since the epoch, as podman reports them. */
  startedAt: number | undefined;
  createdAt: number | undefined;
  /** A stopped container that holds a checkpoint (Restore in Place can bring it back). */
  checkpointed: boolean;
  /** The snapshot this container was restored from, when it is one of our copies. */
  copyOf: string | undefined;
}

/** A host's containers, sorted by name; stopped ones are inspected to learn which hold a checkpoint. */
export async function listContainers(core: Core, hostName: string, signal?: AbortSignal): Promise<ContainerInfo[]> {
  const host = core.hosts.get(hostName);
  const options = signal ? { signal } : {};
  const entries = await host.podman(podman.ps(), options);
  // podman ps does not say which stopped containers hold a checkpoint: inspect only those.
  const stopped = entries.filter((e) => e.State !== 'running').map((e) => e.Id);
  const checkpointed = new Set(stopped.length === 0 ? [] : (await host.podman(podman.inspect(stopped), options)).filter((i) => i.State.Checkpointed).map((i) => i.Id));
  return entries
    .map((entry) => ({
      host: hostName,
      name: entry.Names[0] ?? entry.Id.slice(0, 12),
      id: entry.Id,
      image: entry.Image,
      state: entry.State,
      startedAt: entry.StartedAt,
      createdAt: entry.Created,
      checkpointed: checkpointed.has(entry.Id),
      copyOf: entry.Labels[originLabel],
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A container's processes (`podman top`). */
export function containerProcesses(core: Core, host: string, container: string, signal?: AbortSignal): Promise<TopProcess[]> {
  return core.hosts.get(host).podman(podman.top(container), signal ? { signal } : {});
}

export const defaultLogLines = 500;

/** The last lines a container wrote, standard output then standard error (podman logs passes both on). */
export async function containerLogs(core: Core, hostName: string, container: string, lines = defaultLogLines, signal?: AbortSignal): Promise<string> {
  const host = core.hosts.get(hostName);
  const command = podman.logs(container, lines);
  const result = await host.runIdempotent(host.privileged(['podman', ...command.argv]), signal ? { signal } : {});
  const stderr = cleanStderr(result.stderr);
  if (result.exitCode !== 0) throw host.podmanError(command.argv, result.exitCode, stderr);
  return `${result.stdout}${stderr}`;
}

/** podman's own inspect JSON for a container, as it prints it, for people to read. */
export function inspectContainer(core: Core, host: string, container: string): Promise<string> {
  return core.hosts.get(host).podman(podman.inspectText(container));
}

/** `base` if no container on the host has that name, else the first free `base-copyN`. */
export function freeContainerName(core: Core, host: string, base: string, signal?: AbortSignal): Promise<string> {
  return freeName(core.hosts.get(host), base, signal);
}

/** The last lines of the CRIU log an error pointed at (SnapdebugError.criuLog), or undefined if unreadable. */
export function criuLogTail(core: Core, log: { host: string; path: string }, lines = 60): Promise<string | undefined> {
  return core.hosts.get(log.host).tail(log.path, lines).catch(() => undefined);
}

/** Which options of a podman command a host's podman has (read from its --help), by key. */
export async function offeredOptions(core: Core, host: string, verb: 'checkpoint'): Promise<Set<keyof CheckpointOptions>>;
export async function offeredOptions(core: Core, host: string, verb: 'restore'): Promise<Set<keyof RestoreOptions>>;
export async function offeredOptions(core: Core, host: string, verb: 'checkpoint' | 'restore'): Promise<Set<string>> {
  const caps = await core.hosts.get(host).capabilities();
  const [table, flags] = verb === 'checkpoint' ? [checkpointOptionInfo, caps.checkpointFlags] : [restoreOptionInfo, caps.restoreFlags];
  return new Set(optionKeys<object>(table).filter((key) => flags.has((table as Record<string, { flag: string }>)[key]!.flag)));
}
