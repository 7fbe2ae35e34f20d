// Read-only documents for what the user looks at but never edits: inspect JSON, logs, process
// lists, CRIU logs. They live in memory under the snapdebug-view: scheme.
import * as vscode from 'vscode';

export const readOnlyScheme = 'snapdebug-view';
const contents = new Map<string, string>();
const changed = new vscode.EventEmitter<vscode.Uri>();

export const readOnlyProvider: vscode.TextDocumentContentProvider = {
  onDidChange: changed.event,
  provideTextDocumentContent: (uri) => contents.get(uri.path) ?? '',
};

export async function showReadOnly(name: string, text: string, language?: string): Promise<vscode.TextEditor> {
  const uri = vscode.Uri.from({ scheme: readOnlyScheme, path: `/${name.replace(/[^\w.@-]+/g, '-')}` });
  contents.set(uri.path, text);
  changed.fire(uri);
  const document = await vscode.workspace.openTextDocument(uri);
  const shown = language ? await vscode.languages.setTextDocumentLanguage(document, language) : document;
  return vscode.window.showTextDocument(shown, { preview: true });
}
