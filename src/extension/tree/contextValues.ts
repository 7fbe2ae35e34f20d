// The typed vocabulary of tree item contextValues. package.json's when-clauses match these with
// anchored regular expressions (viewItem =~ /^container:running/), and a unit test checks every
// when-clause against this list, so a menu can never point at a value no item has.

export const contextValues = {
  hostOk: 'host:ok',
  hostError: 'host:error',
  containerRunning: 'container:running',
  containerRunningCopy: 'container:running:copy',
  containerCheckpointed: 'container:checkpointed',
  containerStopped: 'container:stopped',
  process: 'process',
  snapshot: 'snapshot:checkpoint',
  preCheckpoint: 'snapshot:pre-checkpoint',
  snapshotDetail: 'snapshot-detail',
  snapshotProcess: 'snapshot-process',
  snapshotEnvironment: 'snapshot-group:environment',
  snapshotFiles: 'snapshot-group:files',
  snapshotSockets: 'snapshot-group:sockets',
  snapshotMaps: 'snapshot-group:maps',
  snapshotEntry: 'snapshot-entry',
  copyHost: 'copy-host',
  copyRunning: 'copy:running',
  copyStopped: 'copy:stopped',
  message: 'message',
} as const;

export type ContextValue = (typeof contextValues)[keyof typeof contextValues];
export const allContextValues: readonly ContextValue[] = Object.values(contextValues);
