// `npm start`, step 0: on a fresh clone nothing is installed yet, not even what runs TypeScript.
// Installs the npm dependencies when they are missing, then hands over to scripts/startProduct.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const started = Date.now();
const say = (line) => console.log(`[start ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);

if (!existsSync('node_modules/.bin/tsx')) {
  say('installing npm dependencies (npm ci)');
  const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (ci.status !== 0) {
    console.error('npm ci failed: check the npm registry is reachable, then run npm start again');
    process.exit(1);
  }
}
const product = spawnSync('node_modules/.bin/tsx', ['scripts/startProduct.ts', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, SNAPDEBUG_START_T0: String(started) },
});
process.exit(product.status ?? 1);
