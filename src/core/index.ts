// The core's public API: everything the faces (src/extension, src/cli) may call, and nothing else.
// ESLint holds the faces to it: they import only this file, and never reach into a Core's hosts or
// store — a Core is a handle they create, pass to these functions, and dispose of. A new feature a
// face needs is a function here first (its logic in the core, so the CLI and VS Code cannot drift).

// The handle: hosts over pooled SSH, the local store, settings, a log.
export { createCore, type CheckpointTransport, type Core, type CoreOptions, type CoreSettings, type WorkControl } from './core';

// Hosts and their containers.
export {
  configuredHosts,
  containerLogs,
  containerProcesses,
  criuLogTail,
  defaultLogLines,
  forgetHost,
  freeContainerName,
  hostAddress,
  inspectContainer,
  listContainers,
  offeredOptions,
  sshConfigFile,
  validateHostSpec,
  type ContainerInfo,
  type HostAddress,
} from './inventory';
export { doctor, type CheckLevel, type DoctorCheck, type DoctorReport } from './doctor';
export type { TopProcess } from './podman/commands';
export type { HostKeyQuestion, RefusedSecret, SshPrompts } from './ssh/connection';
export type { CommandLogEntry } from './ssh/runner';

// Snapshots: taking, keeping, moving, restoring.
export {
  deleteSnapshots,
  getSnapshot,
  listArtifacts,
  listSnapshots,
  oldSnapshots,
  removeArtifact,
  restoreArchiveCommand,
  retentionDefaults,
  scanSnapshots,
  snapshotArchiveFile,
  snapshotDependents,
  storeFolder,
  type DeletedSnapshots,
  type SnapshotFilter,
} from './snapshots';
export { isOlderThan, type InvalidSnapshotFile, type SnapshotMeta } from './snapshot/store';
export { checkpoint, type CheckpointRequest } from './snapshot/checkpoint';
export { checkpointToHost, type CheckpointToHostRequest, type CheckpointToHostResult } from './snapshot/checkpointToHost';
export { pushSnapshot, pushToKeep, type PushedArchive } from './snapshot/push';
export { ImageMissingError, restoreInPlace, restoreSnapshot, type RestoreRequest, type RestoredContainer } from './snapshot/restore';
export { migrate, type MigrateRequest, type MigrateResult } from './snapshot/migrate';

// Looking inside a snapshot without restoring it (issue 16): from the archive alone, except core
// files, whose program and libraries come from the source host.
export { inspectSnapshot, type InspectOptions } from './inspect/inspect';
export { defaultContextBytes, defaultMaxHits, hexDump, memoryMaps, searchMemory, type MemorySearchRequest, type MemorySearchResult } from './inspect/memory';
export { regexReachBytes, validateMemoryQuery } from './inspect/matcher';
export { diffSnapshots, diffText, type ProcessChanges, type ProcessSummary, type SnapshotDiff } from './inspect/diff';
export { criuPhases, type CriuPhase } from './inspect/phases';
export type {
  CheckpointedContainer,
  CheckpointStats,
  MemoryArea,
  MemoryHit,
  MountInfo,
  OpenFile,
  ProcessInfo,
  ProcessMaps,
  SnapshotContents,
  SocketInfo,
} from './inspect/model';
export { coreFromSnapshot, snapshotCoresFolder, type SnapshotCoreRequest, type SnapshotCoreResult } from './coredump/snapshotCore';

// Copies and debuggers.
export { discardCopy, findCopy, isStale, listCopies, type CopyInfo } from './snapshot/copies';
export { attachToCopy, snapshotAndDebug, type DebugRequest, type DebugSession, type SnapshotDebugSession } from './debug/session';
export type { BackgroundStore } from './snapshot/storeAfterward';
export { runtimeOf, runtimes, type Runtime } from './debug/attach';
export { terminalClient } from './debug/clients';
export { NoJdwpAgentError } from './debug/java';
export { debugTools, runtimeName } from './debug/requirements';

// What is taken from a running copy (heap snapshots and dumps, CPU profiles, thread dumps), kept
// in the store beside the snapshot it came from.
export { maxProfileSeconds, recordCpuProfile, saveHeap, saveHeapDump, saveHeapSnapshot, saveThreadDump, type Capture, type CaptureRequest } from './debug/captures';
export { artifactTitles, type Artifact, type ArtifactKind } from './snapshot/artifacts';
export { describeEgress, formatEgress, parseEgress, parseEgressList, type AllowedEgress, type EgressSpec } from './fence/egress';
export { fenceSupport, type FenceRequest, type FenceSupport } from './fence/fence';

// Options, written once: the faces generate their flags, pickers and settings from these.
export {
  checkpointOptionInfo,
  compressions,
  optionDefaults,
  optionKeys,
  optionWords,
  restoreOptionInfo,
  validateCheckpointOptions,
  validateOptionValues,
  validateRestoreOptions,
  type CheckpointOptions,
  type OptionInfo,
  type OptionTable,
  type RestoreOptions,
} from './podman/options';
export { workflowDefaults, workflowOptionNames, type OptionName, type WorkflowOption } from './options';
export { parseContainerAddress, validateContainerRef, validatePublish, validateRemotePath, validateSnapshotRef } from './podman/names';
export type { Compression } from './archive/checkpointArchive';

// Errors, cancellation, progress, words.
export { SnapdebugError, describeError, errorSentence, fixOf, plainFixWording, type Fix, type FixOption, type FixWording } from './util/errors';
export { AbortError, isAbortError } from './util/abort';
export type { Phase, ProgressEvent, ProgressSink } from './util/progress';
export { ProgressText } from './util/progressText';
export { systemClock, type Clock } from './util/clock';
export { formatAge, formatBytes, formatDuration, formatSince } from './util/format';
export { shellJoin } from './util/quote';
export { redact } from './util/redact';
