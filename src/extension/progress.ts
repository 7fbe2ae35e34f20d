// Long work in a cancellable notification: the CancellationToken becomes the core's AbortSignal
// here, once; progress events become "phase: MB done, MB/s". A cancel is reported as cancelled,
// never as a failure; a failure is one sentence with "Show Log" (and the CRIU log when there is one).
import * as vscode from 'vscode';
import type { Core, WorkControl } from '../core/core';
import { isAbortError } from '../core/util/abort';
import { SnapdebugError, describeError } from '../core/util/errors';
import { redact } from '../core/util/redact';
import { ProgressText } from '../core/util/progressText';
import type { Log } from './log';
import { showReadOnly } from './documents';

export type Outcome<T> = { status: 'done'; value: T } | { status: 'cancelled' } | { status: 'failed'; error: unknown };

export async function runLong<T>(
  deps: { log: Log; core: () => Core },
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
      const text = new ProgressText();
      let reported = 0;
      const started = Date.now();
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
        deps.log.info(`${title}: done in ${Date.now() - started} ms`);
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
    if (handles(outcome.error)) deps.log.info(`${title}: ${describeError(outcome.error).split('\n')[0]}`);
    else void showError(deps, title, outcome.error);
  }
  return outcome;
}

export async function showError(deps: { log: Log; core: () => Core }, title: string, error: unknown): Promise<void> {
  deps.log.error(`${title}: ${describeError(error)}`);
  const sentence = error instanceof SnapdebugError ? error.message : describeError(error).split('\n')[0]!;
  const criuLog = error instanceof SnapdebugError ? error.criuLog : undefined;
  const actions = ['Show Log', ...(criuLog ? ['Show CRIU Log'] : [])];
  const fix = error instanceof SnapdebugError && error.fix ? ` ${error.fix}` : '';
  const choice = await vscode.window.showErrorMessage(redact(`${title}: ${sentence}${fix}`), ...actions);
  if (choice === 'Show Log') deps.log.channel.show(true);
  if (choice === 'Show CRIU Log' && criuLog) {
    const tail = await deps.core().hosts.get(criuLog.host).tail(criuLog.path, 60).catch(() => undefined);
    await showReadOnly(`${criuLog.host}-${criuLog.path.split('/').at(-1)}`, tail ?? `Could not read ${criuLog.path} on ${criuLog.host}.`, 'log');
  }
}
