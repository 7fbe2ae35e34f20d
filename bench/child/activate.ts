// Child process for bench/package.ts: loads a built dist/extension.js (CommonJS, `vscode`
// external) the way VS Code would, with the unit tests' fake of the VS Code API standing in for
// `vscode`, and times require() plus activate(). Run with `node --import tsx` (the fake is
// TypeScript); prints {loadMs, activateMs} as its last line. Settings point at an empty SSH
// config and a temporary store, so activation never reaches a host.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscodeFake from '../../test/unit/extension/fakeVscode';

const extensionPath = process.argv[2]!;
const temp = mkdtempSync(join(tmpdir(), 'snapdebug-bench-activate-'));
try {
  writeFileSync(join(temp, 'ssh_config'), '');
  vscodeFake.fake.settings.set('snapdebug.sshConfigFile', join(temp, 'ssh_config'));
  vscodeFake.fake.settings.set('snapdebug.snapshotDirectory', join(temp, 'store'));

  // `require('vscode')` inside the bundle gets the fake (already loaded, as VS Code's API is).
  const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const load = loader._load;
  loader._load = function (request, parent, isMain) {
    return request === 'vscode' ? vscodeFake : load.call(this, request, parent, isMain);
  };
  const secrets = new Map<string, string>();
  const context = {
    subscriptions: [] as Array<{ dispose(): unknown }>,
    secrets: {
      get: async (key: string) => secrets.get(key),
      store: async (key: string, value: string) => void secrets.set(key, value),
      delete: async (key: string) => void secrets.delete(key),
    },
  };

  const started = performance.now();
  const extension = createRequire(import.meta.url)(extensionPath) as { activate(context: unknown): unknown };
  const loaded = performance.now();
  extension.activate(context);
  const activated = performance.now();
  for (const disposable of context.subscriptions) disposable.dispose();
  process.stdout.write(JSON.stringify({ loadMs: loaded - started, activateMs: activated - loaded }) + '\n');
} finally {
  rmSync(temp, { recursive: true, force: true });
}
