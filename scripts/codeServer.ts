// Installs, caches and runs code-server 4.100.3 (VS Code 1.100.3 served to a browser) for the UI
// tests: no VS Code desktop build can be downloaded here, this one installs from the npm registry.
// See /work/shared/notes/vscode-ui.md for why each install step is needed.
// CLI: `npx tsx scripts/codeServer.ts install` prints entry.js; `... serve FOLDER` serves FOLDER.
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { execa } from 'execa';

export const codeServerVersion = '4.100.3';
const nativeModules = ['kerberos', 'node-pty', '@parcel/watcher', '@vscode/spdlog', '@vscode/deviceid', 'native-watchdog'];
const healthTimeoutMs = 60_000;
const healthPollIntervalMs = 200;
const stopTimeoutMs = 10_000;

/** Bumped whenever the install steps change, so an older cache is rebuilt rather than reused. */
const installRevision = 2;

export function codeServerCacheDir(): string {
  return process.env.SNAPDEBUG_CODE_SERVER_CACHE ?? join(homedir(), '.cache', 'snapdebug', `code-server-${codeServerVersion}-r${installRevision}`);
}

const entryUnder = (root: string): string => join(root, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
/** Written last into a build, so its presence means the whole install succeeded. */
const markerUnder = (root: string): string => join(root, 'snapdebug-version.txt');

/**
 * npm and npx put lower-case npm_* variables (the project's local_prefix, package.json, `call`,
 * `yes`) into the environment of what they run; they would leak into the nested npm calls of the
 * install. Upper-case NPM_CONFIG_* (how CI sets a registry mirror, say) are the user's: kept.
 */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('npm_')) env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * code-server writes a default config.yaml (with a random password) into ~/.config/code-server and
 * its own logs into ~/.local/share/code-server/coder-logs, even for --version: point both at `home`.
 */
function codeServerEnv(home: string): Record<string, string> {
  return cleanEnv({ CODE_SERVER_CONFIG: join(home, 'config.yaml'), XDG_DATA_HOME: join(home, 'data') });
}

async function missingDebs(names: string[]): Promise<string[]> {
  const result = await execa('dpkg-query', ['-W', '-f=${Package} ${Status}\n', ...names], { reject: false });
  const installed = new Set(
    result.stdout.split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ')[0]!.split(':')[0]),
  );
  return names.filter((n) => !installed.has(n));
}

/** Builds into a pid-named sibling folder; such folders left by a killed process are removed. */
function removeAbandonedBuilds(cacheDir: string): void {
  const parent = dirname(cacheDir);
  const prefix = `${basename(cacheDir)}.building-`;
  // Caches of older install revisions of this version are superseded by this one.
  const older = new RegExp(`^code-server-${codeServerVersion.replace(/\./g, '\\.')}(-r\\d+)?$`);
  for (const name of existsSync(parent) ? readdirSync(parent) : []) {
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (name.startsWith(prefix) && !isAlive(pid)) rmSync(join(parent, name), { recursive: true, force: true });
    if (older.test(name) && name !== basename(cacheDir)) rmSync(join(parent, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Installs code-server once (about 2 minutes) into the cache; later calls return at once. */
export async function ensureCodeServer(say: (line: string) => void): Promise<{ entry: string; version: string }> {
  const cacheDir = codeServerCacheDir();
  if (existsSync(markerUnder(cacheDir))) return { entry: entryUnder(cacheDir), version: readFileSync(markerUnder(cacheDir), 'utf8').trim() };

  mkdirSync(dirname(cacheDir), { recursive: true, mode: 0o700 });
  removeAbandonedBuilds(cacheDir);
  const build = mkdtempSync(`${cacheDir}.building-${process.pid}-`);
  const run = async (step: string, file: string, args: string[], cwd: string, env: Record<string, string> = {}) => {
    say(`code-server install: ${step}`);
    const result = await execa(file, args, { cwd, env: cleanEnv(env), extendEnv: false, all: true, reject: false, stdin: 'ignore' });
    if (result.exitCode !== 0) {
      const tail = (result.all ?? '').split('\n').slice(-20).join('\n');
      throw new Error(`code-server install: ${step} failed (${file} ${args.join(' ')}, exit ${result.exitCode}):\n${tail}`);
    }
    return result.stdout;
  };
  try {
    const debs = await missingDebs(['libkrb5-dev', 'ripgrep']);
    // kerberos compiles against libkrb5-dev; @vscode/ripgrep would download rg, Debian's is used instead.
    if (debs.length > 0) await run(`apt-get install ${debs.join(' ')}`, 'apt-get', ['install', '-y', '--no-install-recommends', ...debs], build, { DEBIAN_FRONTEND: 'noninteractive' });
    else say('code-server install: libkrb5-dev and ripgrep are installed');

    writeFileSync(join(build, 'package.json'), JSON.stringify({ name: 'snapdebug-code-server', private: true }) + '\n');
    // --ignore-scripts: @vscode/ripgrep's postinstall downloads from the internet; native modules are rebuilt below.
    await run(`npm install code-server@${codeServerVersion}`, 'npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', `code-server@${codeServerVersion}`], build);
    const vscodeDir = join(build, 'node_modules', 'code-server', 'lib', 'vscode');
    await run('npm install in lib/vscode', 'npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], vscodeDir);
    // node-pty's build runs `npx node-gyp`, which would wait forever for a "yes" without npm_config_yes.
    await run(`npm rebuild ${nativeModules.join(' ')}`, 'npm', ['rebuild', ...nativeModules], vscodeDir, { npm_config_yes: 'true' });
    await run('npm rebuild argon2', 'npm', ['rebuild', 'argon2'], build, { npm_config_yes: 'true' });
    // The built-in extensions' own dependencies (TypeScript for the JS/TS language features):
    // without them VS Code says "tsserver was deleted" as soon as a .js file opens.
    const extensionsDir = join(vscodeDir, 'extensions');
    await run('npm install in lib/vscode/extensions', 'npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], extensionsDir);
    await run('trimming the built-in TypeScript (its postinstall)', process.execPath, ['postinstall.mjs'], extensionsDir);

    say('code-server install: linking ripgrep and node_modules.asar (what its postinstall would do)');
    const rgBin = join(vscodeDir, 'node_modules', '@vscode', 'ripgrep', 'bin');
    mkdirSync(rgBin, { recursive: true });
    symlinkSync('/usr/bin/rg', join(rgBin, 'rg'));
    symlinkSync('node_modules', join(vscodeDir, 'node_modules.asar')); // relative: survives the rename below

    const printed = await run('checking entry.js --version', process.execPath, [entryUnder(build), '--version'], build, codeServerEnv(join(build, 'home')));
    rmSync(join(build, 'home'), { recursive: true, force: true });
    // Log lines may come first; the version line reads "4.100.3 <commit> with Code 1.100.3".
    const version = printed.split('\n').find((line) => line.startsWith(`${codeServerVersion} `));
    if (!version) throw new Error(`code-server install: entry.js --version printed "${printed}"`);
    writeFileSync(markerUnder(build), version + '\n');
    try {
      renameSync(build, cacheDir);
    } catch (error) {
      // Another process finished the same install first: use its cache.
      if (!existsSync(markerUnder(cacheDir))) throw error;
    }
    say(`code-server install: done (${version})`);
    return { entry: entryUnder(cacheDir), version };
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
}

/** Installs a packaged extension (.vsix) into extensionsDir. */
export async function installExtension(entry: string, vsixPath: string, extensionsDir: string): Promise<void> {
  // A throwaway user-data-dir keeps the install from writing into ~/.local/share/code-server.
  const userDataDir = mkdtempSync(join(tmpdir(), 'snapdebug-cs-install-'));
  try {
    const args = [entry, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', resolve(vsixPath), '--force'];
    const env = codeServerEnv(join(userDataDir, 'code-server-home'));
    const result = await execa(process.execPath, args, { all: true, reject: false, stdin: 'ignore', env, extendEnv: false });
    // It can print a failure and still exit 0: trust only its success message.
    if (result.exitCode !== 0 || !/was successfully installed/.test(result.all ?? '')) {
      throw new Error(`installing ${vsixPath} into code-server failed (exit ${result.exitCode}):\n${result.all}`);
    }
  } finally {
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

/** A free TCP port on loopback, as the kernel hands out for port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A process as seen in /proc; startTicks tells a process apart from a later one reusing its pid. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  startTicks: string;
  state: string;
  command: string;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (2nd field) is in parentheses and may contain spaces: split after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, ppid: Number(fields[1]), pgrp: Number(fields[2]), startTicks: fields[19]!, state: fields[0]!, command };
  } catch {
    return undefined; // gone between listing and reading
  }
}

function allProcs(): ProcInfo[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map((n) => readProc(Number(n))).filter((p): p is ProcInfo => !!p);
}

/** The process rootPid and all its descendants, alive now (zombies excluded). */
export function processTree(rootPid: number): ProcInfo[] {
  const all = allProcs();
  const tree: ProcInfo[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const proc = all.find((p) => p.pid === pid);
    if (proc && proc.state !== 'Z') tree.push(proc);
    queue.push(...all.filter((p) => p.ppid === pid).map((p) => p.pid));
  }
  return tree;
}

/** Processes of group pgid that still run (zombies excluded). */
export function processGroup(pgid: number): ProcInfo[] {
  return allProcs().filter((p) => p.pgrp === pgid && p.state !== 'Z');
}

/** Those of procs that still run (same pid and start time, not a zombie). */
export function stillRunning(procs: ProcInfo[]): ProcInfo[] {
  return procs.filter((p) => {
    const now = readProc(p.pid);
    return !!now && now.startTicks === p.startTicks && now.state !== 'Z';
  });
}

export interface CodeServerOptions {
  entry: string;
  port: number;
  extensionsDir: string;
  userDataDir: string;
  folder: string;
  /** Merged over quietSettings into userDataDir/User/settings.json. */
  settings?: object;
}

export interface CodeServer {
  url: string;
  pid: number;
  /** code-server's stdout and stderr. */
  logFile: string;
  stop(): Promise<void>;
}

/** Settings that keep the window deterministic and readable: no welcome page, tips, update checks or gallery calls. */
export const quietSettings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  // The DOM renderer puts terminal text into .xterm-rows, where a test can read it (canvas cannot be read).
  'terminal.integrated.gpuAcceleration': 'off',
  // A scrolled tree pins its parent rows on top of the first children (sticky scroll): rows a
  // test looks for would sit under them. The lab's seven hosts make the Hosts view scroll.
  'workbench.tree.enableStickyScroll': false,
};

/** Serves folder on 127.0.0.1:port; resolves once /healthz answers. */
export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const { entry, port, extensionsDir, userDataDir, folder } = options;
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...quietSettings, ...options.settings }, null, 2) + '\n');
  // code-server is a remote window: once our extension's settings are registered, machine-scoped
  // ones (sshConfigFile, knownHostsFile, snapshotDirectory…) count only from the Machine settings.
  mkdirSync(join(userDataDir, 'Machine'), { recursive: true });
  writeFileSync(join(userDataDir, 'Machine', 'settings.json'), JSON.stringify({ ...options.settings }, null, 2) + '\n');

  const logFile = join(userDataDir, 'code-server.log');
  const logFd = openSync(logFile, 'w');
  const args = [entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, folder];
  // detached: its own process group (and session), so stop() can end the whole group by its id.
  // VS Code leaves IPC sockets (vscode-ipc-*.sock, vscode-git-*.sock) in TMPDIR when it is killed:
  // a short private one (socket paths are limited to 108 bytes) is removed by stop().
  const tmp = mkdtempSync(join(tmpdir(), 'cs-tmp-'));
  const env = { ...codeServerEnv(join(userDataDir, 'code-server-home')), TMPDIR: tmp };
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd], env });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error('code-server did not start');
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let running = true;
  void exited.then(() => (running = false));
  const forget = killIfWeDie(pid, tmp);

  const url = `http://127.0.0.1:${port}/`;
  /**
   * Ends the process group, and the descendants that left it: terminal shells, which node-pty puts
   * in sessions of their own. Some children (the pty host) outlive code-server's main process by
   * seconds, so this waits until the group and those descendants are all gone.
   */
  const stop = async () => {
    const descendants = processTree(pid);
    const left = () => [...processGroup(pid), ...stillRunning(descendants).filter((p) => p.pgrp !== pid)];
    killGroup(pid, 'SIGTERM');
    for (const p of left()) killPid(p, 'SIGTERM');
    const deadline = Date.now() + stopTimeoutMs;
    while ((running || left().length > 0) && Date.now() < deadline) await delay(100);
    if (running || left().length > 0) {
      killGroup(pid, 'SIGKILL');
      for (const p of left()) killPid(p, 'SIGKILL');
      await exited;
    }
    forget();
    rmSync(tmp, { recursive: true, force: true });
  };

  const deadline = Date.now() + healthTimeoutMs;
  for (;;) {
    if (!running) throw new Error(`code-server exited before answering on ${url}:\n${tail(logFile)}`);
    try {
      const response = await fetch(`${url}healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on ${url}healthz within ${healthTimeoutMs} ms:\n${tail(logFile)}`);
    }
    await delay(healthPollIntervalMs);
  }
  return { url, pid, logFile, stop };
}

/**
 * Should this process exit or be killed by a signal without stop(), code-server (in a group of its
 * own, so no Ctrl-C reaches it) must not outlive it. Returns the function that undoes this.
 */
function killIfWeDie(pid: number, tmp: string): () => void {
  const kill = () => {
    const descendants = processTree(pid); // before the group dies: its orphans leave the tree
    killGroup(pid, 'SIGKILL');
    for (const p of descendants) killPid(p, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (signal: NodeJS.Signals) => {
    // Another listener handles the signal (and should call stop()); 'exit' stays the safety net.
    if (process.listenerCount(signal) > 1) return;
    // Alone, this listener took away the signal's default: end code-server, then die by it as intended.
    kill();
    forget();
    process.kill(process.pid, signal);
  };
  const forget = () => {
    process.removeListener('exit', kill);
    for (const signal of signals) process.removeListener(signal, onSignal);
  };
  process.once('exit', kill);
  for (const signal of signals) process.on(signal, onSignal);
  return forget;
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already empty
  }
}

function killPid(proc: ProcInfo, signal: NodeJS.Signals): void {
  if (stillRunning([proc]).length === 0) return; // never signal a pid that now belongs to someone else
  try {
    process.kill(proc.pid, signal);
  } catch {
    // already gone
  }
}

const delay = (ms: number) => new Promise((done) => setTimeout(done, ms));
const tail = (file: string) => readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');

/** The CLI: `install` prints entry.js; `serve FOLDER` serves FOLDER until Ctrl-C (for looking around by hand). */
async function main(command: string | undefined, folder: string | undefined): Promise<void> {
  const say = (line: string) => console.error(line);
  if (command === 'install') {
    console.log((await ensureCodeServer(say)).entry);
  } else if (command === 'serve' && folder) {
    const { entry } = await ensureCodeServer(say);
    const home = mkdtempSync(join(tmpdir(), 'snapdebug-cs-'));
    const server = await startCodeServer({ entry, port: await freePort(), extensionsDir: join(home, 'extensions'), userDataDir: join(home, 'user-data'), folder: resolve(folder) });
    console.log(`${server.url} (pid ${server.pid}); Ctrl-C stops it`);
    const end = () => void server.stop().then(() => {
      rmSync(home, { recursive: true, force: true });
      process.exit(0);
    });
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
  } else {
    console.error('usage: npx tsx scripts/codeServer.ts install | serve FOLDER');
    process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main(process.argv[2], process.argv[3]).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
