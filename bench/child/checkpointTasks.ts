// Checkpoints of a large container as bench/transport.ts compares them, each run in the child:
// the product's checkpoint() over its `stream` and `file` transports, and a variant the product
// does not have (temp file on the host, then SFTP). Each leaves nothing behind: the snapshot is
// deleted from the (temporary) store, the temp file and podman's checkpoint images from the host.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createCore, type CheckpointTransport } from '../../src/core/core';
import { podman } from '../../src/core/podman/commands';
import { removeCheckpointImages } from '../../src/core/snapshot/checkpointImages';
import { checkpoint, inspectOne } from '../../src/core/snapshot/checkpoint';
import { connectRaw, sftpOf } from './rawSsh';
import { refusePrompts, sha256File } from './pullTasks';

export interface CheckpointTask {
  kind: 'checkpoint';
  sshConfig: string;
  host: string;
  container: string;
  storeDir: string;
  transport: CheckpointTransport;
}

export interface CheckpointSftpTask {
  kind: 'checkpoint-sftp';
  sshConfig: string;
  host: string;
  container: string;
  storeDir: string;
  chunkSize: number;
}

export interface CheckpointResult {
  ms: number;
  bytes: number;
  frozenUs?: number;
}

export async function checkpointOurs(task: CheckpointTask): Promise<CheckpointResult> {
  const started = performance.now();
  const core = createCore({ sshConfigFile: task.sshConfig, storeDir: task.storeDir, prompts: refusePrompts, settings: { transport: task.transport } });
  try {
    const meta = await checkpoint(core, { host: task.host, container: task.container, options: { leaveRunning: true } });
    const ms = performance.now() - started;
    core.store.remove(meta.id);
    return { ms, bytes: meta.size, ...(meta.criu && { frozenUs: meta.criu.frozenTimeUs }) };
  } finally {
    core.dispose();
  }
}

/** podman writes the archive to a temp file on the host; ssh2's SFTP fastGet brings it here. */
export async function checkpointSftp(task: CheckpointSftpTask): Promise<CheckpointResult> {
  const started = performance.now();
  const core = createCore({ sshConfigFile: task.sshConfig, storeDir: task.storeDir, prompts: refusePrompts });
  const host = core.hosts.get(task.host);
  const remotePath = `/var/tmp/snapdebug-bench-${process.pid}-${Date.now()}.tar.zst`;
  const local = join(task.storeDir, 'sftp.tar.zst');
  const client = await connectRaw(task.sshConfig, task.host, ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']);
  let containerId: string | undefined;
  try {
    containerId = (await inspectOne(host, task.container)).Id;
    await host.podman(podman.checkpoint(task.container, { leaveRunning: true, compress: 'zstd' }, remotePath));
    const sftp = await sftpOf(client);
    const remoteHash = host.runner.run(['sha256sum', remotePath]);
    await new Promise<void>((resolve, reject) => sftp.fastGet(remotePath, local, { chunkSize: task.chunkSize }, (e) => (e ? reject(e) : resolve())));
    const [sha256, remote] = await Promise.all([sha256File(local), remoteHash]);
    if (!remote.stdout.startsWith(sha256)) throw new Error(`the archive arrived damaged: ${sha256} here, ${remote.stdout.slice(0, 64)} there`);
    const ms = performance.now() - started;
    return { ms, bytes: statSync(local).size };
  } finally {
    client.end();
    rmSync(local, { force: true });
    await host.runner.run(['rm', '-f', remotePath]).catch(() => undefined);
    if (containerId) await removeCheckpointImages(host, core.settings.remoteTempDir, containerId, () => undefined);
    core.dispose();
  }
}
