// Bundles the extension and the CLI with esbuild: dist/extension.js (CommonJS, `vscode` external,
// as VS Code 1.100 loads it) and dist/cli.js (CommonJS with a node shebang, for `npx snapdebug`).
// ssh2's optional native addons are left out so it uses its pure-JS fallbacks everywhere.
import { build } from 'esbuild';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
  logLevel: 'warning',
};

mkdirSync('dist', { recursive: true });
// The package is an ES module package; dist/ holds CommonJS bundles and says so.
writeFileSync('dist/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
await Promise.all([
  build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' }),
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } }),
]);
chmodSync('dist/cli.js', 0o755);
console.log(`built dist/extension.js and dist/cli.js${production ? ' (production)' : ''}`);
