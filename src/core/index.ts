// The core's API: what the faces (the extension and the CLI) may call. Issue 13 makes this the only
// door into src/core; the inspector's part is below (the "api" engineer adds the rest at merge).

// Looking inside a snapshot without restoring it (issue 16).
export { inspectSnapshot, type InspectOptions } from './inspect/inspect';
export { searchMemory, memoryMaps, hexDump, defaultContextBytes, defaultMaxHits, type MemorySearchRequest, type MemorySearchResult } from './inspect/memory';
export { regexReachBytes } from './inspect/matcher';
export { diffSnapshots, diffText, type SnapshotDiff, type ProcessChanges, type ProcessSummary } from './inspect/diff';
export { criuPhases, type CriuPhase } from './inspect/phases';
export type {
  SnapshotContents,
  ProcessInfo,
  OpenFile,
  SocketInfo,
  MountInfo,
  ContainerInfo,
  CheckpointStats,
  MemoryArea,
  ProcessMaps,
  MemoryHit,
} from './inspect/model';
export { coreFromSnapshot, type SnapshotCoreRequest, type SnapshotCoreResult } from './coredump/snapshotCore';
