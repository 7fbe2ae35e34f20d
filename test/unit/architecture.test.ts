// The architecture, held by tools: the lint rules that keep the faces on the core's API (src/core/
// index.ts) fire on what they forbid, the extension keeps no module-level state, and no message of
// the core names a CLI flag or a VS Code setting (a fix names options by core names; faces word them).
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import ts from 'typescript';

const repo = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

describe('architecture', function () {
  this.timeout(30_000);
  const eslint = new ESLint({ cwd: repo });
  async function lintAs(file: string, text: string): Promise<string[]> {
    const [result] = await eslint.lintText(text, { filePath: join(repo, file) });
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  }

  it('the faces import the core only from its API, and never a core library', async () => {
    for (const face of ['src/extension/commands/x.ts', 'src/cli/commands/x.ts']) {
      assert.deepEqual(await lintAs(face, "export { checkpoint } from '../../core';\n"), [], `${face}: the API is allowed`);
      assert.deepEqual(await lintAs(face, "export { checkpoint } from '../../core/index';\n"), [], `${face}: index by name too`);
      for (const forbidden of ['../../core/snapshot/checkpoint', '../../core/core', '../../core/util/quote', 'zod/mini', 'ssh2', 'execa']) {
        const messages = await lintAs(face, `export * from '${forbidden}';\n`);
        assert.ok(messages.some((m) => m.startsWith('no-restricted-imports')), `${face} importing ${forbidden}: ${messages.join('; ')}`);
      }
    }
  });

  it('the faces never reach into a Core handle', async () => {
    const cli = await lintAs('src/cli/commands/x.ts', "import type { Core } from '../../core';\nexport const f = (core: Core) => core.hosts;\n");
    assert.ok(cli.some((m) => m.startsWith('no-restricted-syntax')), cli.join('; '));
    const extension = await lintAs('src/extension/commands/x.ts', "export const f = (services: { core(): { store: unknown } }) => services.core().store;\n");
    assert.ok(extension.some((m) => m.startsWith('no-restricted-syntax')), extension.join('; '));
  });

  it('the CLI and the extension share only the core; the core knows neither, nor vscode', async () => {
    assert.ok((await lintAs('src/cli/x.ts', "export * from '../extension/services';\n")).some((m) => m.startsWith('no-restricted-imports')));
    assert.ok((await lintAs('src/extension/x.ts', "export * from '../cli/cli';\n")).some((m) => m.startsWith('no-restricted-imports')));
    assert.ok((await lintAs('src/core/x.ts', "export * from '../cli/cli';\n")).some((m) => m.startsWith('no-restricted-imports')));
    assert.ok((await lintAs('src/core/x.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n")).some((m) => m.startsWith('no-restricted-imports')));
  });

  it('the extension keeps no state at module level: it is all in the services object', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(join(repo, 'src', 'extension'))) {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
      for (const statement of source.statements) {
        if (!ts.isVariableStatement(statement)) continue;
        const mutable = (statement.declarationList.flags & ts.NodeFlags.Const) === 0;
        for (const declaration of statement.declarationList.declarations) {
          const init = declaration.initializer;
          const stateful = init !== undefined && ts.isNewExpression(init) && /^(Map|Set|WeakMap|EventEmitter|vscode\.EventEmitter|Array)$/.test(init.expression.getText(source));
          if (mutable || stateful) offenders.push(`${file.slice(repo.length)}: ${declaration.name.getText(source)}`);
        }
      }
    }
    assert.deepEqual(offenders, []);
  });

  /** The host-side sh the core keeps in constants named …Script or …Lib (remote/shellLib.ts): code, not sentences. */
  function inShellConstant(node: ts.Node): boolean {
    for (let at: ts.Node | undefined = node; at; at = at.parent) {
      if (ts.isVariableDeclaration(at)) return /(Script|Lib|prelude)$/.test(at.name.getText());
    }
    return false;
  }

  it('no sentence of the core names a CLI flag or a VS Code setting', () => {
    // Every string and template literal of src/core that reads as words (it has a space): a
    // message, a fix, a progress line. Single words are argv items (podman's own flags).
    const offenders: string[] = [];
    for (const file of sourceFiles(join(repo, 'src', 'core'))) {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
      const visit = (node: ts.Node): void => {
        if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
          const text = node.text;
          const inArgv = ts.isArrayLiteralExpression(node.parent) || ts.isArrayLiteralExpression(node.parent.parent);
          const shellScript = /^(sh|bash)$/.test(ts.isArrayLiteralExpression(node.parent) ? (node.parent.elements[0] as ts.StringLiteral | undefined)?.text ?? '' : '') || inShellConstant(node);
          if (/\s/.test(text) && !inArgv && !shellScript && (/(^|[\s(`'"])--[a-z]/.test(text) || /\bsnapdebug\.[a-z]/.test(text))) {
            offenders.push(`${file.slice(repo.length)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${text}`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    assert.deepEqual(offenders, []);
  });
});
