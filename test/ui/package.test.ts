// The marketplace package: `npm run package` (run before this suite) makes snapdebug.vsix of at
// most 2 MB holding only dist/, media/, package.json, README, CHANGELOG and LICENSE; vsce's own
// listing says so, and so does the archive itself.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { vsixPath } from '../../scripts/startProduct';

const allowed = /^(dist\/(extension|cli)\.js|dist\/package\.json|media\/[\w.-]+|package\.json|README\.md|CHANGELOG\.md|LICENSE)$/;

describe('the .vsix package', () => {
  it('vsce ls lists only dist/, media/, package.json, README, CHANGELOG and LICENSE', () => {
    const files = execFileSync('npx', ['vsce', 'ls', '--no-dependencies'], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(files.filter((f) => !allowed.test(f)), []);
    for (const required of ['dist/extension.js', 'dist/cli.js', 'package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'media/icon.png']) {
      assert.ok(files.includes(required), `${required} is packaged`);
    }
  });

  it('snapdebug.vsix is at most 2 MB and holds nothing else', () => {
    assert.ok(statSync(vsixPath).size <= 2 * 1024 * 1024, `${statSync(vsixPath).size} bytes`);
    const entries = execFileSync('unzip', ['-Z1', vsixPath], { encoding: 'utf8' }).trim().split('\n');
    // vsce stores README, CHANGELOG and LICENSE as readme.md, changelog.md and LICENSE.txt.
    const payload = entries.filter((e) => e.startsWith('extension/')).map((e) => e.slice('extension/'.length));
    const renamed = payload.map((f) => ({ 'readme.md': 'README.md', 'changelog.md': 'CHANGELOG.md', 'LICENSE.txt': 'LICENSE' })[f] ?? f);
    assert.deepEqual(renamed.filter((f) => !allowed.test(f)), []);
    assert.ok(renamed.includes('dist/extension.js') && renamed.includes('README.md'));
  });

  it('package.json is ready for the marketplace', () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, unknown>;
    for (const key of ['displayName', 'description', 'icon', 'repository', 'license', 'galleryBanner', 'keywords']) assert.ok(manifest[key], key);
    assert.deepEqual(manifest.categories, ['Debuggers', 'Other']);
    assert.equal((manifest.engines as { vscode: string }).vscode, '^1.100.0');
    assert.equal(execFileSync('file', ['-b', manifest.icon as string], { encoding: 'utf8' }).startsWith('PNG image data, 128 x 128'), true);
  });
});
