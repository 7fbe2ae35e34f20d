// The core's one door for the faces (extension, CLI). The "api" engineer is building the full
// index; these are the exports the runtime work (issue 17) added, so the faces need no deep imports.
export { runtimeOf, runtimes, type Runtime } from './debug/attach';
export { terminalClient } from './debug/clients';
export { maxProfileSeconds, recordCpuProfile, saveHeap, saveHeapDump, saveHeapSnapshot, saveThreadDump, type Capture, type CaptureRequest } from './debug/captures';
export { debugTools, runtimeName } from './debug/requirements';
export { artifactTitles, listArtifacts, removeArtifact, removeArtifacts, type Artifact, type ArtifactKind } from './snapshot/artifacts';
export { NoJdwpAgentError } from './debug/java';
export type { WorkControl } from './core';
