// Runs the test suites in one mocha process, so `npm test` ends with one summary (N passing).
//   unit: no network, no root, seconds.   lab: real sshd + podman + CRIU hosts (needs root).
//   ui: the packaged extension in code-server, driven in Chromium (needs the lab too).
// A suite that cannot run here is announced loudly and skipped; under CI=true that is a failure.
// The lab is brought up first; its teardown check (lab:down leaves nothing) runs last, and a lab
// that was up before the run is brought back up afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const which = process.argv[2] ?? 'all';
const wanted = { unit: ['unit'], lab: ['lab'], ui: ['ui'], all: ['unit', 'lab', 'ui'] }[which];
if (!wanted) {
  console.error('usage: node scripts/test.mjs unit|lab|ui|all');
  process.exit(2);
}
const ci = process.env.CI === 'true' || process.env.CI === '1';

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  return result.status ?? 1;
}

function cannotRun(suite, reason) {
  const banner = `${suite.toUpperCase()} SUITE NOT RUN: ${reason}`;
  if (ci) {
    console.error(`\n!!! ${banner} (CI=true: a skipped suite is a failure)\n`);
    process.exit(1);
  }
  console.error(`\n${'!'.repeat(banner.length + 8)}\n!!! ${banner} !!!\n${'!'.repeat(banner.length + 8)}\n`);
}

const suites = [...wanted];
const needsLab = suites.includes('lab') || suites.includes('ui');
if (needsLab && process.getuid?.() !== 0) {
  for (const s of ['lab', 'ui']) if (suites.includes(s)) cannotRun(s, 'the lab needs root (namespaces, mounts)');
  suites.splice(0, suites.length, ...suites.filter((s) => s === 'unit'));
}
if (suites.includes('ui') && !existsSync('/usr/bin/chromium') && process.getuid?.() === 0) {
  console.log('installing Chromium for the UI suite (apt-get install chromium)');
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'chromium'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
if (suites.includes('ui') && !existsSync('/usr/bin/chromium')) {
  cannotRun('ui', 'Chromium is not installed (apt-get install chromium)');
  suites.splice(suites.indexOf('ui'), 1);
}
if (suites.length === 0) process.exit(ci ? 1 : 0);

const labWasUp = suites.includes('lab') || suites.includes('ui') ? run('npx', ['tsx', 'lab/cli.ts', 'status'], { stdio: 'ignore' }) === 0 : false;
if (suites.includes('lab') || suites.includes('ui')) {
  // Every host: the lab suite proves each workflow on prod, debug, edge and legacy.
  if (run('npx', ['tsx', 'lab/cli.ts', 'up', '--all']) !== 0) {
    console.error('lab:up failed: the lab and UI suites cannot run');
    process.exit(1);
  }
}
if (suites.includes('ui')) {
  if (run('npm', ['run', '--silent', 'package']) !== 0) {
    console.error('packaging the extension failed: the UI suite cannot run');
    process.exit(1);
  }
}

const specs = suites.map((s) => `test/${s}/**/*.test.ts`);
// The teardown check ends the lab, so it runs after everything that needs the lab.
if (suites.includes('lab')) specs.push('test/teardown/*.test.ts');
const status = run('npx', ['mocha', '--import=tsx', '--timeout', '10000', '--reporter', 'spec', ...specs], {
  env: { ...process.env, SNAPDEBUG_SUITES: suites.join(',') },
});

if (labWasUp && suites.includes('lab')) {
  console.log('the lab was up before the tests: bringing it back up');
  run('npx', ['tsx', 'lab/cli.ts', 'up'], { stdio: 'ignore' });
}
process.exit(status);
