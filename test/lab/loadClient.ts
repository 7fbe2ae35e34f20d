// One client process of the load test: a core of its own (one SSH connection per host, as the
// extension or the CLI has) running several checkpoints and Snapshot & Debug runs against prod at
// once. Prints one JSON line per run: ok, or the error sentence it ended with.
// Usage: node --import tsx test/lab/loadClient.ts STORE CONTAINER CHECKPOINTS DEBUGS
import { labFiles } from '../../lab/paths';
import { checkpoint, createCore, discardCopy, errorSentence, snapshotAndDebug } from '../../src/core/index';
import { refusePrompts } from './helpers';

const [storeDir = '', container = '', checkpoints = '0', debugs = '0'] = process.argv.slice(2);
const core = createCore({ sshConfigFile: labFiles.sshConfig, storeDir, prompts: refusePrompts });

async function checkpointRun(): Promise<string> {
  const meta = await checkpoint(core, { host: 'prod', container, options: { leaveRunning: true, tcpEstablished: true } });
  return meta.id;
}

async function debugRun(): Promise<string> {
  const session = await snapshotAndDebug(core, { host: 'prod', container, to: 'debug' });
  await session.close();
  await discardCopy(core, 'debug', session.copy.name);
  return session.copy.name;
}

const runs = [...Array.from({ length: Number(checkpoints) }, () => ['checkpoint', checkpointRun] as const), ...Array.from({ length: Number(debugs) }, () => ['debug', debugRun] as const)];
const results = await Promise.all(
  runs.map(async ([kind, run]) => {
    const started = Date.now();
    try {
      return { kind, ok: true, result: await run(), seconds: (Date.now() - started) / 1000 };
    } catch (error) {
      return { kind, ok: false, error: errorSentence(error), seconds: (Date.now() - started) / 1000 };
    }
  }),
);
for (const result of results) process.stdout.write(`${JSON.stringify(result)}\n`);
core.dispose();
process.exit(0);
