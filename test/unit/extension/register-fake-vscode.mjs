// Makes the bare specifier 'vscode' resolve to the fake API (fakeVscode.ts) during unit tests.
// Hooks registered later run first, so this one answers 'vscode' before tsx's resolver (which
// would fail: there is no such package), and hands every other specifier on to tsx. tsx's load
// hook then compiles fakeVscode.ts like any other TypeScript file.
// It only affects imports resolved after it ran: a test file imports the extension's modules with
// `await import()` (see harness.ts), never statically, because static imports are all resolved
// before the first of them runs.
import { register } from 'node:module';

const fakeUrl = new globalThis.URL('./fakeVscode.ts', import.meta.url).href;
const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === 'vscode') return { url: ${JSON.stringify(fakeUrl)}, shortCircuit: true };
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
