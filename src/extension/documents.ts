// Read-only documents for what the user looks at but never edits: inspect JSON, logs, process
// lists, CRIU logs. They live in memory under the snapdebug-view: scheme, held by the one
// ReadOnlyDocuments that activate() puts in the services object.
import * as vscode from 'vscode';

export const readOnlyScheme = 'snapdebug-view';

export class ReadOnlyDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.path) ?? '';
  }

  async show(name: string, text: string, language?: string): Promise<vscode.TextEditor> {
    const uri = vscode.Uri.from({ scheme: readOnlyScheme, path: `/${name.replace(/[^\w.@-]+/g, '-')}` });
    this.contents.set(uri.path, text);
    this.changed.fire(uri);
    const document = await vscode.workspace.openTextDocument(uri);
    const shown = language ? await vscode.languages.setTextDocumentLanguage(document, language) : document;
    return vscode.window.showTextDocument(shown, { preview: true });
  }

  dispose(): void {
    this.changed.dispose();
    this.contents.clear();
  }
}
