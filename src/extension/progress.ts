// Long work in a cancellable notification: the CancellationToken becomes the core's AbortSignal
// here, once; progress events become "phase: MB done, MB/s". A cancel is reported as cancelled,
// never as a failure; a failure is one sentence with its fix worded for VS Code (the settings it
// names, each with a button opening it), "Show Log", and the CRIU log when there is one.
import * as vscode from 'vscode';
import { criuLogTail, errorSentence, isAbortError, ProgressText, redact, SnapdebugError, type WorkControl } from '../core';
import { describeForLog, settingButton, wordFix } from './fixes';
import type { Services } from './services';

export type Outcome<T> = { status: 'done'; value: T } | { status: 'cancelled' } | { status: 'failed'; error: unknown };

type Deps = Pick<Services, 'log' | 'core' | 'clock' | 'documents'>;

export async function runLong<T>(
  deps: Deps,
  title: string,
  work: (control: WorkControl) => Promise<T>,
  /** Failures the caller answers itself (e.g. a missing image it offers to copy): not shown here. */
  handles: (error: unknown) => boolean = () => false,
): Promise<Outcome<T>> {
  const outcome = await vscode.window.withProgress<Outcome<T>>(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const subscription = token.onCancellationRequested(() => controller.abort());
      const text = new ProgressText(deps.clock);
      let reported = 0;
      const started = deps.clock.now();
      deps.log.info(`${title}: started`);
      try {
        const value = await work({
          signal: controller.signal,
          progress: (event) => {
            const percent = ProgressText.percent(event);
            const increment = percent === undefined ? undefined : Math.max(0, percent - reported);
            if (percent !== undefined) reported = percent;
            else reported = 0;
            progress.report({ message: text.line(event), ...(increment !== undefined && { increment }) });
          },
        });
        deps.log.info(`${title}: done in ${deps.clock.now() - started} ms`);
        return { status: 'done', value };
      } catch (error) {
        if (isAbortError(error) || controller.signal.aborted) return { status: 'cancelled' };
        return { status: 'failed', error };
      } finally {
        subscription.dispose();
      }
    },
  );
  if (outcome.status === 'cancelled') {
    deps.log.info(`${title}: cancelled`);
    void vscode.window.showInformationMessage(`${title}: cancelled. Nothing was left behind.`);
  }
  if (outcome.status === 'failed') {
    if (handles(outcome.error)) deps.log.info(`${title}: ${errorSentence(outcome.error)}`);
    else void showError(deps, title, outcome.error);
  }
  return outcome;
}

/** A failure as VS Code shows it: the sentence and fix, a button per setting the fix names, the log. */
export async function showError(deps: Pick<Services, 'log' | 'core' | 'documents'>, title: string, error: unknown): Promise<void> {
  deps.log.error(`${title}: ${describeForLog(error)}`);
  const fix = error instanceof SnapdebugError && error.fix ? wordFix(error.fix) : undefined;
  const criuLog = error instanceof SnapdebugError ? error.criuLog : undefined;
  const settings = fix?.settings ?? [];
  const openSetting = new Map(settings.map((setting) => [settingButton(setting, settings), setting]));
  const actions = [...openSetting.keys(), 'Show Log', ...(criuLog ? ['Show CRIU Log'] : [])];
  const choice = await vscode.window.showErrorMessage(redact(`${title}: ${errorSentence(error)}${fix ? ` ${fix.text}` : ''}`), ...actions);
  if (choice === 'Show Log') deps.log.channel.show(true);
  const setting = choice === undefined ? undefined : openSetting.get(choice);
  if (setting) await vscode.commands.executeCommand('workbench.action.openSettings', setting);
  if (choice === 'Show CRIU Log' && criuLog) {
    const tail = await criuLogTail(deps.core(), criuLog);
    await deps.documents.show(`${criuLog.host}-${criuLog.path.split('/').at(-1)}`, tail ?? `Could not read ${criuLog.path} on ${criuLog.host}.`, 'log');
  }
}
