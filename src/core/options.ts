// Every option a person can set, by its core name: podman's checkpoint and restore options
// ('checkpoint.tcpEstablished', from the tables in podman/options.ts) and the workflows' own
// (below). Fixes name options this way (util/errors.ts); each face maps a name to its own words —
// the CLI to a flag, VS Code to a setting — through a Record over these names, so an option added
// here does not compile until both faces say how they call it.
import type { CheckpointOptions, RestoreOptions } from './podman/options';

/** Options of the workflows that are not podman flags. */
export const workflowOptionNames = [
  /** Folder on hosts for temporary archives. */
  'remoteTempDir',
  /** The host Snapshot & Debug restores the copy on. */
  'debugHost',
  /** The host a snapshot is pushed or restored to, or a container migrated to. */
  'targetHost',
  /** Run podman and CRIU through `sudo -n`. */
  'sudo',
  /** Record a host key not seen before. */
  'acceptNewHostKey',
  /** Copy the container's image from its source host when the target lacks it. */
  'transferImage',
  /** The local end of a debugger tunnel. */
  'localPort',
  /** The debugger a copy gets (node, python, go, java, native). */
  'runtime',
  /** Snapshot & Debug restores the copy and attaches no debugger (a JVM without a JDWP agent). */
  'copyOnly',
  /** The OpenSSH config naming the hosts. */
  'sshConfigFile',
  /** The known_hosts file host keys are verified against. */
  'knownHostsFile',
  /** The local snapshot store. */
  'snapshotDirectory',
  /** Fence a copy: it reaches nothing outside itself but what is allowed (off: it reaches everything). */
  'fenced',
  /** HOST:PORT pairs a fenced copy may still reach. */
  'allowEgress',
  /** Send archives through this machine even when the target host reaches the source host. */
  'throughHere',
] as const;

export type WorkflowOption = (typeof workflowOptionNames)[number];

export type OptionName = `checkpoint.${keyof CheckpointOptions}` | `restore.${keyof RestoreOptions}` | WorkflowOption;

/** Defaults of workflow options that have one, used by both faces and the core. */
export const workflowDefaults = {
  remoteTempDir: '/var/tmp',
  runtime: 'auto',
} as const satisfies Partial<Record<WorkflowOption, string>>;
