// The fake vscode itself: 'vscode' really resolves to it under tsx (one instance, shared with the
// tests), the extension's modules see it, and it has every runtime member src/extension uses, so
// a new vscode call in src fails here first, not deep inside another test.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as fakeModule from './fakeVscode';
import { fake } from './harness';

const viaSpecifier = (await import('vscode')) as unknown as typeof fakeModule;
const { HostNode, HostsTree } = await import('../../../src/extension/tree/hostsTree');

const extensionDir = fileURLToPath(new URL('../../../src/extension/', import.meta.url));
const vscodeTypes = readFileSync(fileURLToPath(new URL('../../../node_modules/@types/vscode/index.d.ts', import.meta.url)), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

describe('fake vscode', () => {
  beforeEach(() => fake.reset());

  it("resolves the bare specifier 'vscode' to the fake, as the same module instance the tests import", () => {
    assert.equal(viaSpecifier, fakeModule);
    assert.equal(viaSpecifier.fake, fake);
  });

  it('is what the extension modules import: their tree items are the fake TreeItem and ThemeIcon', () => {
    const tree = new HostsTree({ core: () => assert.fail('no core needed'), hostNames: () => [], log: { info() {}, error() {}, command() {}, channel: undefined as never } });
    const item: unknown = tree.getTreeItem(new HostNode('prod', { status: 'loading' }));
    assert.ok(item instanceof fakeModule.TreeItem);
    assert.ok(item.iconPath instanceof fakeModule.ThemeIcon);
    assert.equal(item.collapsibleState, fakeModule.TreeItemCollapsibleState.Expanded);
  });

  it('has every vscode value src/extension uses (names that are only interfaces or types excepted)', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(extensionDir)) {
      const text = readFileSync(file, 'utf8');
      // (not "ms-vscode.cpptools", an extension id)
      for (const match of text.matchAll(/(?<!-)\bvscode\.([A-Za-z]+)(?:\.([A-Za-z]+))?/g)) used.add(match[2] ? `${match[1]}.${match[2]}` : match[1]!);
    }
    assert.ok(used.size > 20, 'the scan found the vscode references');
    const typeOnly = (name: string) => new RegExp(`export (interface|type) ${name}\\b`).test(vscodeTypes);
    const missing = [...used].filter((path) => {
      const [head, member] = path.split('.') as [string, string | undefined];
      const value = (fakeModule as Record<string, unknown>)[head];
      if (member !== undefined) return value === undefined || !(member in (value as object));
      return value === undefined && !typeOnly(head);
    });
    assert.deepEqual(missing, []);
  });

  it('fails a test on an unplanned QuickPick or InputBox instead of dismissing it silently', async () => {
    await assert.rejects(fakeModule.window.showQuickPick(['a'], { placeHolder: 'Host' }), /unplanned QuickPick "Host"/);
    await assert.rejects(fakeModule.window.showInputBox({ prompt: 'Name' }), /unplanned InputBox "Name"/);
  });

  it('parses and builds URIs like VS Code for the schemes the extension uses (it is VS Code\'s own, vscode-uri)', () => {
    assert.equal(fakeModule.Uri.file('/tmp/a b').toString(), 'file:///tmp/a%20b');
    assert.equal(fakeModule.Uri.file('/tmp/a b').fsPath, '/tmp/a b');
    const uri = fakeModule.Uri.parse('snapdebug-view:/prod-demo-api.json');
    assert.deepEqual([uri.scheme, uri.path], ['snapdebug-view', '/prod-demo-api.json']);
    assert.equal(fakeModule.Uri.from({ scheme: 'snapdebug-view', path: '/x.log' }).path, '/x.log');
  });

  it('cancels a progress token on request and tells its listeners once', async () => {
    let heard = 0;
    await fakeModule.window.withProgress({ location: fakeModule.ProgressLocation.Notification }, async (_progress, token) => {
      token.onCancellationRequested(() => heard++);
      fake.progress[0]!.cancel();
      fake.progress[0]!.cancel();
      assert.equal(token.isCancellationRequested, true);
    });
    assert.equal(heard, 1);
  });
});
