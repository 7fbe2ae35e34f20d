// Lint rules that keep the architecture honest: src/core and src/cli never import `vscode`; the
// faces (src/extension, src/cli) use the core only through its API, src/core/index.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', '.lab/**', '.bench/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'src/core must not depend on VS Code: put this in src/extension.' }],
          patterns: [{ group: ['**/extension/**', '**/cli/**'], message: 'The core knows nothing of its faces.' }],
        },
      ],
    },
  },
  {
    // The faces call the core through its API (src/core/index.ts) and nothing else, and never
    // reach into a Core handle: what a face needs is a core function exported there.
    files: ['src/extension/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name=/^(hosts|store|settings|log)$/]:matches([object.name='core'], [object.callee.property.name='core'])",
          message: 'A Core is a handle: call a function of src/core/index.ts instead of reaching into it.',
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'src/cli must not depend on VS Code.' }],
          patterns: [
            { group: ['**/core/*', '!**/core/index', '**/core/*/**'], message: 'Import the core from its API, src/core/index.ts (e.g. "../../core"); export what you need there.' },
            { group: ['**/extension/**'], message: 'The CLI and the extension share only the core.' },
            { group: ['zod', 'zod/*', 'ssh2', 'execa'], message: 'Faces use the core, not its libraries.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/core/*', '!**/core/index', '**/core/*/**'], message: 'Import the core from its API, src/core/index.ts (e.g. "../../core"); export what you need there.' },
            { group: ['**/cli/**'], message: 'The CLI and the extension share only the core.' },
            { group: ['zod', 'zod/*', 'ssh2', 'execa'], message: 'Faces use the core, not its libraries.' },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // The demo service runs inside a container as plain CommonJS.
    files: ['lab/demo-api/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
