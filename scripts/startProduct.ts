// `npm start`: the whole product in one command. Builds and packages the extension, brings the
// lab up (or reuses it), installs code-server 4.100.3 (cached), installs our .vsix into a private
// extensions folder, points the settings at the lab, opens the demo-api sources (so breakpoints
// map into the copies) and serves VS Code on http://127.0.0.1:8080 (PORT overrides) until Ctrl-C.
// The lab stays up afterwards, until `npm run lab:down`.
import { execa } from 'execa';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { labFiles, repoRoot, stateDir, sudoAliases } from '../lab/paths';
import { ensureCodeServer, installExtension, startCodeServer, type CodeServer } from './codeServer';

const t0 = Number(process.env.SNAPDEBUG_START_T0 ?? Date.now());
const say = (line: string) => console.log(`[start ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`);

export const vsixPath = join(repoRoot, 'snapdebug.vsix');
export const demoFolder = join(repoRoot, 'lab', 'demo-api');

/** The settings a newcomer needs: the lab's hosts, its known_hosts, `debug` for copies, sudo where the login is `dev`. */
export function labSettings(): Record<string, unknown> {
  return {
    'snapdebug.sshConfigFile': labFiles.sshConfig,
    'snapdebug.knownHostsFile': labFiles.knownHosts,
    'snapdebug.defaultDebugHost': 'debug',
    'snapdebug.useSudo': sudoAliases.map((alias) => alias.name),
    'snapdebug.snapshotDirectory': join(stateDir, 'snapshots'),
    'snapdebug.debug.remoteRoot': '/app',
    'snapdebug.refreshIntervalSeconds': 15,
    'workbench.startupEditor': 'none',
    'git.openRepositoryInParentFolders': 'never',
  };
}

async function step<T>(what: string, fix: string, work: () => Promise<T>): Promise<T> {
  say(what);
  try {
    return await work();
  } catch (error) {
    const detail = (error as { stderr?: string; shortMessage?: string; message: string });
    console.error(`\n${what} failed: ${detail.shortMessage ?? detail.message}`);
    if (detail.stderr) console.error(String(detail.stderr).split('\n').slice(-15).join('\n'));
    console.error(`fix: ${fix}`);
    process.exit(1);
  }
}

/** Everything before serving: shared with the start test, which serves on a port of its own. */
export async function prepare(): Promise<{ entry: string; extensionsDir: string; userDataDir: string }> {
  if (process.getuid?.() !== 0) {
    console.error('npm start needs root: the lab hosts run in namespaces of their own (run it as root or with sudo).');
    process.exit(1);
  }
  await step('building and packaging the extension (npm run package)', 'run `npm run package` to see the error', () =>
    execa('npm', ['run', '--silent', 'package'], { cwd: repoRoot, all: true }),
  );
  await step('bringing the lab up (first time: about 2 minutes)', 'see `npm run lab:status`; `npm run lab:down && npm run lab:up` starts it fresh', async () => {
    const lab = execa('node_modules/.bin/tsx', ['lab/cli.ts', 'up'], { cwd: repoRoot, all: true });
    lab.all?.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach((l) => say(`  ${l}`)));
    await lab;
  });
  const { entry } = await step('installing code-server 4.100.3 (cached after the first time)', 'see scripts/codeServer.ts; it needs the npm registry and Debian packages libkrb5-dev and ripgrep', () =>
    ensureCodeServer((line) => say(`  ${line}`)),
  );
  const base = join(stateDir, 'vscode');
  const extensionsDir = join(base, 'extensions');
  const userDataDir = join(base, 'user-data');
  mkdirSync(base, { recursive: true, mode: 0o700 });
  rmSync(extensionsDir, { recursive: true, force: true });
  await step('installing the extension into code-server', 'run `npm run package` and check snapdebug.vsix exists', () => installExtension(entry, vsixPath, extensionsDir));
  return { entry, extensionsDir, userDataDir };
}

export async function serve(port: number, prepared: Awaited<ReturnType<typeof prepare>>): Promise<CodeServer> {
  return step(`serving VS Code on http://127.0.0.1:${port}/`, `free port ${port}, or choose another: PORT=8081 npm start`, () =>
    startCodeServer({ ...prepared, port, folder: demoFolder, settings: labSettings() }),
  );
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  const prepared = await prepare();
  const server = await serve(port, prepared);
  console.log(`
  Snapshot Debugger is running: open ${server.url} in a browser.

  First click: the Snapshot Debugger icon in the activity bar (left). Under Hosts, prod lists
  demo-api. Right-click demo-api -> Snapshot & Debug: production keeps running, a copy starts on
  debug and the debugger attaches. Set a breakpoint in server.js (open in the editor), then
  request /state on the copy, or watch the tick() breakpoint hit.

  Ctrl-C stops VS Code. The lab stays up until: npm run lab:down
`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping code-server');
    await server.stop();
    say('stopped. The lab is still up (npm run lab:status); end it with: npm run lab:down');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (resolve(process.argv[1] ?? '') === resolve(import.meta.filename)) void main();
