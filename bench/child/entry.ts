// Entry of the benchmarks' child process, bundled by bench/lib/child.ts the way the product is
// bundled: runs the one task given as JSON in argv[2] and prints {ok, result | error} as its last
// line. A process per measured run keeps each figure clean of the parent's state and memory.
import { checkpointOurs, checkpointSftp, type CheckpointSftpTask, type CheckpointTask } from './checkpointTasks';
import { inspectTask, type InspectTask } from './inspectTasks';
import { listHosts, type ListTask } from './listTasks';
import { pullExec, pullOurs, pullSftp, type ExecTask, type PullTask, type SftpTask } from './pullTasks';

export type ChildTask = PullTask | ExecTask | SftpTask | CheckpointTask | CheckpointSftpTask | ListTask | InspectTask;

function run(task: ChildTask): Promise<unknown> {
  switch (task.kind) {
    case 'pull':
      return pullOurs(task);
    case 'exec':
      return pullExec(task);
    case 'sftp':
      return pullSftp(task);
    case 'checkpoint':
      return checkpointOurs(task);
    case 'checkpoint-sftp':
      return checkpointSftp(task);
    case 'list':
      return listHosts(task);
    case 'inspect':
    case 'search':
    case 'core':
      return inspectTask(task);
  }
}

async function main(): Promise<void> {
  try {
    const result = await run(JSON.parse(process.argv[2] ?? '{}') as ChildTask);
    process.stdout.write(JSON.stringify({ ok: true, result }) + '\n');
    process.exit(0);
  } catch (error) {
    const e = error as Error & { detail?: string };
    process.stdout.write(JSON.stringify({ ok: false, error: `${e.message}${e.detail ? `\n${e.detail}` : ''}` }) + '\n');
    process.exit(1);
  }
}

void main();
