// A fake of the part of the VS Code API that src/extension uses, so its trees and commands run in
// plain mocha: register-fake-vscode.mjs makes `import * as vscode from 'vscode'` load this file.
// Every question the extension asks (QuickPick, InputBox, modal message) is answered from a queue
// or a responder a test sets, and everything it shows is recorded in `fake`, which tests read.
// An unplanned QuickPick or InputBox fails the test instead of being silently dismissed.
import type * as vscode from 'vscode';
import { URI as VsUri } from 'vscode-uri';

type Listener<T> = (event: T) => unknown;

export class Disposable {
  private disposed = false;
  constructor(private readonly callOnDispose: () => unknown) {}
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((d) => d.dispose()));
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.callOnDispose();
  }
}

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];

  readonly event = (listener: Listener<T>, thisArgs?: unknown, disposables?: { dispose(): unknown }[]): Disposable => {
    const bound: Listener<T> = thisArgs === undefined ? listener : listener.bind(thisArgs);
    this.listeners.push(bound);
    const disposable = new Disposable(() => {
      this.listeners = this.listeners.filter((l) => l !== bound);
    });
    disposables?.push(disposable);
    return disposable;
  };

  fire(data: T): void {
    for (const listener of [...this.listeners]) listener(data);
  }

  get listenerCount(): number {
    return this.listeners.length;
  }

  dispose(): void {
    this.listeners = [];
  }
}

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class ThemeIcon {
  static readonly File = new ThemeIcon('file');
  static readonly Folder = new ThemeIcon('folder');
  constructor(
    readonly id: string,
    readonly color?: ThemeColor,
  ) {}
}

export class MarkdownString {
  isTrusted = false;
  constructor(
    public value = '',
    readonly supportThemeIcons = false,
  ) {}
  appendMarkdown(value: string): this {
    this.value += value;
    return this;
  }
  appendText(value: string): this {
    this.value += value.replace(/[\\`*_{}[\]()#+\-.!]/g, '\\$&');
    return this;
  }
}

export class TreeItem {
  id?: string;
  description?: string | boolean;
  tooltip?: string | MarkdownString;
  iconPath?: ThemeIcon | Uri;
  contextValue?: string;
  command?: vscode.Command;
  resourceUri?: Uri;
  constructor(
    public label: string | vscode.TreeItemLabel,
    public collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
  ) {}
}

/** VS Code's own URI implementation (the vscode-uri package is extracted from VS Code's source). */
export const Uri = VsUri;
export type Uri = VsUri;

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export enum ConfigurationTarget {
  Global = 1,
  Workspace = 2,
  WorkspaceFolder = 3,
}

export class CancellationTokenSource {
  private readonly cancelled = new EventEmitter<void>();
  readonly token: vscode.CancellationToken;
  private requested = false;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the token reads the source's flag
    const source = this;
    this.token = {
      get isCancellationRequested() {
        return source.requested;
      },
      onCancellationRequested: this.cancelled.event as vscode.Event<unknown>,
    };
  }

  cancel(): void {
    if (this.requested) return;
    this.requested = true;
    this.cancelled.fire();
  }

  dispose(): void {
    this.cancelled.dispose();
  }
}

// ---- what the fake records, and the answers tests script -------------------------------------

export interface RecordedMessage {
  kind: 'information' | 'warning' | 'error';
  message: string;
  options: vscode.MessageOptions | undefined;
  items: string[];
}

export interface QuickPickCall {
  items: unknown[];
  options: vscode.QuickPickOptions | undefined;
}

/** Returns the picked item (or items, for canPickMany), or undefined to dismiss. */
export type QuickPickAnswer = (items: unknown[], options: vscode.QuickPickOptions | undefined) => unknown;
export type InputBoxAnswer = string | undefined | ((options: vscode.InputBoxOptions) => string | undefined);

export interface ProgressRun {
  options: vscode.ProgressOptions;
  reports: { message?: string; increment?: number }[];
  token: vscode.CancellationToken;
  /** The user clicking Cancel on the notification. */
  cancel(): void;
  /** Whether the task has settled. */
  done: boolean;
}

export interface LogLine {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'append';
  text: string;
}

export class FakeLogOutputChannel {
  readonly lines: LogLine[] = [];
  shown = 0;
  disposed = false;
  logLevel = 2;
  readonly onDidChangeLogLevel = new EventEmitter<number>().event;
  constructor(readonly name: string) {}
  trace(text: string): void {
    this.lines.push({ level: 'trace', text });
  }
  debug(text: string): void {
    this.lines.push({ level: 'debug', text });
  }
  info(text: string): void {
    this.lines.push({ level: 'info', text });
  }
  warn(text: string): void {
    this.lines.push({ level: 'warn', text });
  }
  error(text: string | Error): void {
    this.lines.push({ level: 'error', text: text instanceof Error ? text.message : text });
  }
  append(text: string): void {
    this.lines.push({ level: 'append', text });
  }
  appendLine(text: string): void {
    this.lines.push({ level: 'append', text });
  }
  replace(text: string): void {
    this.lines.splice(0, this.lines.length, { level: 'append', text });
  }
  clear(): void {
    this.lines.length = 0;
  }
  show(): void {
    this.shown++;
  }
  hide(): void {}
  dispose(): void {
    this.disposed = true;
  }
  /** Every line as one text, for assertions. */
  text(): string {
    return this.lines.map((l) => `[${l.level}] ${l.text}`).join('\n');
  }
}

export class FakeTreeView {
  visible = false;
  disposed = false;
  readonly visibilityChanged = new EventEmitter<{ visible: boolean }>();
  readonly onDidChangeVisibility = this.visibilityChanged.event;
  readonly onDidChangeSelection = new EventEmitter<unknown>().event;
  readonly onDidExpandElement = new EventEmitter<unknown>().event;
  readonly onDidCollapseElement = new EventEmitter<unknown>().event;
  selection: unknown[] = [];
  constructor(
    readonly viewId: string,
    readonly options: { treeDataProvider: vscode.TreeDataProvider<unknown>; showCollapseAll?: boolean },
  ) {}
  async reveal(): Promise<void> {}
  dispose(): void {
    this.disposed = true;
  }
  /** Makes the view (in)visible, as the user opening or closing it would. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.visibilityChanged.fire({ visible });
  }
}

export interface FakeTextDocument {
  uri: Uri;
  languageId: string;
  getText(): string;
}

export class FakeTerminal {
  readonly sent: string[] = [];
  shown = 0;
  constructor(
    readonly name: string | undefined,
    readonly options: { name?: string; shellPath?: string; shellArgs?: string[] } = {},
  ) {}
  sendText(text: string): void {
    this.sent.push(text);
  }
  show(): void {
    this.shown++;
  }
  dispose(): void {}
}

/** A webview panel: what it was opened with and the page it was given. */
export class FakeWebviewPanel {
  readonly webview = { html: '' };
  constructor(
    readonly viewType: string,
    readonly title: string,
    readonly options: vscode.WebviewPanelOptions & vscode.WebviewOptions,
  ) {}
  dispose(): void {}
}

export const ViewColumn = { Active: -1, Beside: -2, One: 1, Two: 2 } as const;

type CommandHandler = (...args: unknown[]) => unknown;

function freshState() {
  return {
    /** Settings by full key ('snapdebug.hosts'); absent keys read as the caller's default. */
    settings: new Map<string, unknown>(),
    /**
     * What a repository's .vscode/settings.json says. get() hands these out whatever the setting's
     * scope (the fake enforces no scopes), so a test can show what the extension itself ignores.
     */
    workspaceSettings: new Map<string, unknown>(),
    /** Every full key read through getConfiguration().get or inspect, with the default the caller passed. */
    settingReads: new Map<string, unknown>(),
    settingUpdates: [] as { key: string; value: unknown; target: unknown }[],
    messages: [] as RecordedMessage[],
    /** Answers show*Message; the default dismisses (undefined), like a user closing it. */
    answerMessage: (() => undefined) as (message: RecordedMessage) => string | undefined,
    quickPicks: [] as QuickPickCall[],
    quickPickAnswers: [] as QuickPickAnswer[],
    inputBoxes: [] as vscode.InputBoxOptions[],
    inputBoxAnswers: [] as InputBoxAnswer[],
    progress: [] as ProgressRun[],
    /** Called when a withProgress task starts (e.g. to cancel it at once). */
    onProgressStart: undefined as ((run: ProgressRun) => void) | undefined,
    commands: new Map<string, CommandHandler>(),
    executed: [] as { command: string; args: unknown[] }[],
    clipboard: '',
    outputChannels: [] as FakeLogOutputChannel[],
    treeViews: [] as FakeTreeView[],
    contentProviders: new Map<string, vscode.TextDocumentContentProvider>(),
    shownDocuments: [] as { document: FakeTextDocument | Uri; options: unknown }[],
    terminals: [] as FakeTerminal[],
    webviewPanels: [] as FakeWebviewPanel[],
    statusBarMessages: [] as string[],
    debugProviders: new Map<string, vscode.DebugConfigurationProvider>(),
    startedDebugging: [] as { folder: unknown; configuration: vscode.DebugConfiguration }[],
    startDebuggingResult: true,
    installedExtensions: new Set<string>(),
    openedExternal: [] as Uri[],
    workspaceFolders: undefined as { uri: Uri; name: string; index: number }[] | undefined,
  };
}

const configurationChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();
const debugSessionTerminated = new EventEmitter<{ configuration: vscode.DebugConfiguration }>();

/** The recorded state plus helpers; `fake.reset()` before each test. */
export const fake = {
  ...freshState(),

  reset(): void {
    Object.assign(fake, freshState());
    configurationChanged.dispose();
    debugSessionTerminated.dispose();
  },

  /** Queues the answer to the next QuickPick. */
  answerQuickPick(answer: QuickPickAnswer): void {
    fake.quickPickAnswers.push(answer);
  },

  /** Queues the answer to the next InputBox (undefined: the user pressed Escape). */
  answerInputBox(answer: InputBoxAnswer): void {
    fake.inputBoxAnswers.push(answer);
  },

  /** Messages of one kind, as text. */
  messagesOf(kind: RecordedMessage['kind']): string[] {
    return fake.messages.filter((m) => m.kind === kind).map((m) => m.message);
  },

  /** Ends a debug session, as the user stopping it would. */
  terminateDebugSession(configuration: vscode.DebugConfiguration): void {
    debugSessionTerminated.fire({ configuration });
  },

  get configurationListeners(): number {
    return configurationChanged.listenerCount;
  },
};

/** A QuickPick answer choosing the item with this label (fails if there is none). */
export function pickLabel(label: string): QuickPickAnswer {
  return (items) => {
    const item = items.find((i) => (i as { label?: string }).label === label || i === label);
    if (item === undefined) throw new Error(`fake vscode: no QuickPick item "${label}" in ${JSON.stringify(items.map((i) => (i as { label?: string }).label ?? i))}`);
    return item;
  };
}

/** A multi-select answer accepting the items as pre-selected (`picked`), like pressing Enter. */
export const acceptPicked: QuickPickAnswer = (items) => items.filter((i) => (i as { picked?: boolean }).picked === true);

export const dismiss: QuickPickAnswer = () => undefined;

function showMessage(kind: RecordedMessage['kind'], message: string, rest: unknown[]): Promise<string | undefined> {
  const options = rest.length > 0 && typeof rest[0] === 'object' && rest[0] !== null && !('title' in rest[0]) ? (rest.shift() as vscode.MessageOptions) : undefined;
  const items = rest.map((item) => (typeof item === 'string' ? item : (item as { title: string }).title));
  const recorded: RecordedMessage = { kind, message, options, items };
  fake.messages.push(recorded);
  const answer = fake.answerMessage(recorded);
  if (answer !== undefined && !items.includes(answer)) {
    return Promise.reject(new Error(`fake vscode: answer "${answer}" is not one of ${JSON.stringify(items)} for "${message}"`));
  }
  return Promise.resolve(answer);
}

export const window = {
  createOutputChannel(name: string, options?: string | { log: true }): FakeLogOutputChannel {
    if (typeof options !== 'object' || options.log !== true) throw new Error('fake vscode: only LogOutputChannels ({ log: true }) are faked');
    const channel = new FakeLogOutputChannel(name);
    fake.outputChannels.push(channel);
    return channel;
  },

  createTreeView(viewId: string, options: { treeDataProvider: vscode.TreeDataProvider<unknown>; showCollapseAll?: boolean }): FakeTreeView {
    const view = new FakeTreeView(viewId, options);
    fake.treeViews.push(view);
    return view;
  },

  async showQuickPick(items: readonly unknown[] | Thenable<readonly unknown[]>, options?: vscode.QuickPickOptions): Promise<unknown> {
    const list = [...(await items)];
    fake.quickPicks.push({ items: list, options });
    const answer = fake.quickPickAnswers.shift();
    if (!answer) throw new Error(`fake vscode: unplanned QuickPick "${options?.title ?? options?.placeHolder ?? ''}"`);
    return answer(list, options);
  },

  async showInputBox(options: vscode.InputBoxOptions = {}): Promise<string | undefined> {
    fake.inputBoxes.push(options);
    if (fake.inputBoxAnswers.length === 0) throw new Error(`fake vscode: unplanned InputBox "${options.title ?? options.prompt ?? ''}"`);
    const answer = fake.inputBoxAnswers.shift();
    return typeof answer === 'function' ? answer(options) : answer;
  },

  showInformationMessage: (message: string, ...rest: unknown[]) => showMessage('information', message, rest),
  showWarningMessage: (message: string, ...rest: unknown[]) => showMessage('warning', message, rest),
  showErrorMessage: (message: string, ...rest: unknown[]) => showMessage('error', message, rest),

  async withProgress<R>(
    options: vscode.ProgressOptions,
    task: (progress: { report(value: { message?: string; increment?: number }): void }, token: vscode.CancellationToken) => Thenable<R>,
  ): Promise<R> {
    const source = new CancellationTokenSource();
    const run: ProgressRun = { options, reports: [], token: source.token, cancel: () => source.cancel(), done: false };
    fake.progress.push(run);
    fake.onProgressStart?.(run);
    try {
      return await task({ report: (value) => run.reports.push({ ...value }) }, source.token);
    } finally {
      run.done = true;
      source.dispose();
    }
  },

  async showTextDocument(document: FakeTextDocument | Uri, options?: unknown): Promise<{ document: FakeTextDocument | Uri }> {
    fake.shownDocuments.push({ document, options });
    return { document };
  },

  createTerminal(options?: { name?: string; shellPath?: string; shellArgs?: string[] }): FakeTerminal {
    const terminal = new FakeTerminal(options?.name, options);
    fake.terminals.push(terminal);
    return terminal;
  },

  createWebviewPanel(viewType: string, title: string, _column: unknown, options: vscode.WebviewPanelOptions & vscode.WebviewOptions = {}): FakeWebviewPanel {
    const panel = new FakeWebviewPanel(viewType, title, options);
    fake.webviewPanels.push(panel);
    return panel;
  },

  setStatusBarMessage(text: string): Disposable {
    fake.statusBarMessages.push(text);
    return new Disposable(() => undefined);
  },
};

export const commands = {
  registerCommand(command: string, handler: CommandHandler): Disposable {
    if (fake.commands.has(command)) throw new Error(`fake vscode: command ${command} is already registered`);
    fake.commands.set(command, handler);
    return new Disposable(() => fake.commands.delete(command));
  },

  async executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
    fake.executed.push({ command, args });
    const handler = fake.commands.get(command);
    return handler ? handler(...args) : undefined;
  },
};

function configuration(section?: string) {
  const full = (key: string) => (section ? `${section}.${key}` : key);
  return {
    get<T>(key: string, defaultValue?: T): T | undefined {
      fake.settingReads.set(full(key), defaultValue);
      if (fake.workspaceSettings.has(full(key))) return fake.workspaceSettings.get(full(key)) as T;
      return fake.settings.has(full(key)) ? (fake.settings.get(full(key)) as T) : defaultValue;
    },
    has(key: string): boolean {
      return fake.settings.has(full(key)) || fake.workspaceSettings.has(full(key));
    },
    inspect(key: string) {
      fake.settingReads.set(full(key), undefined);
      return { key: full(key), globalValue: fake.settings.get(full(key)), workspaceValue: fake.workspaceSettings.get(full(key)) };
    },
    async update(key: string, value: unknown, target?: unknown): Promise<void> {
      fake.settingUpdates.push({ key: full(key), value, target });
      if (value === undefined) fake.settings.delete(full(key));
      else fake.settings.set(full(key), value);
      configurationChanged.fire({ affectsConfiguration: (s: string) => full(key) === s || full(key).startsWith(`${s}.`) });
    },
  };
}

export const workspace = {
  getConfiguration: configuration,
  onDidChangeConfiguration: configurationChanged.event,

  get workspaceFolders() {
    return fake.workspaceFolders;
  },

  registerTextDocumentContentProvider(scheme: string, provider: vscode.TextDocumentContentProvider): Disposable {
    fake.contentProviders.set(scheme, provider);
    return new Disposable(() => fake.contentProviders.delete(scheme));
  },

  async openTextDocument(uri: Uri): Promise<FakeTextDocument> {
    const provider = fake.contentProviders.get(uri.scheme);
    if (!provider) throw new Error(`fake vscode: no content provider for ${uri.toString()}`);
    const token = new CancellationTokenSource().token;
    const text = (await provider.provideTextDocumentContent(uri as unknown as vscode.Uri, token)) ?? '';
    return { uri, languageId: 'plaintext', getText: () => text };
  },
};

export const languages = {
  async setTextDocumentLanguage(document: FakeTextDocument, languageId: string): Promise<FakeTextDocument> {
    return { ...document, languageId };
  },
};

export const debug = {
  registerDebugConfigurationProvider(type: string, provider: vscode.DebugConfigurationProvider): Disposable {
    fake.debugProviders.set(type, provider);
    return new Disposable(() => fake.debugProviders.delete(type));
  },

  async startDebugging(folder: unknown, configuration: vscode.DebugConfiguration): Promise<boolean> {
    fake.startedDebugging.push({ folder, configuration });
    return fake.startDebuggingResult;
  },

  onDidTerminateDebugSession: debugSessionTerminated.event,
};

export const env = {
  clipboard: {
    async readText(): Promise<string> {
      return fake.clipboard;
    },
    async writeText(text: string): Promise<void> {
      fake.clipboard = text;
    },
  },
  async openExternal(uri: Uri): Promise<boolean> {
    fake.openedExternal.push(uri);
    return true;
  },
};

export const extensions = {
  getExtension(id: string): { id: string } | undefined {
    return fake.installedExtensions.has(id) ? { id } : undefined;
  },
};
