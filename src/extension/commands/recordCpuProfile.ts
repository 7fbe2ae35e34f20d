// Record CPU Profile…: of a running Node.js copy for the seconds asked (CDP Profiler through the
// tunnel; cancelling saves nothing), into the store, then opened in VS Code's profile viewer.
import * as vscode from 'vscode';
import { maxProfileSeconds, recordCpuProfile as recordCpuProfileWorkflow } from '../../core';
import type { Command } from './command';
import { runCapture } from './captures';

const defaultSeconds = 10;

export const recordCpuProfile: Command = {
  id: 'snapdebug.recordCpuProfile',
  run: (services, node) => {
    let seconds = defaultSeconds;
    return runCapture(
      services,
      node,
      'node',
      (copy) => `CPU profile of ${copy.host}/${copy.name} (${seconds} s)`,
      (copy, control) => recordCpuProfileWorkflow(services.core(), { host: copy.host, container: copy.name, seconds }, control),
      async (copy) => {
        const answer = await vscode.window.showInputBox({
          title: `Record a CPU profile of ${copy.name}`,
          prompt: 'Seconds to record (send the requests you want profiled meanwhile)',
          value: String(defaultSeconds),
          ignoreFocusOut: true,
          validateInput: (text) => (/^\d+(\.\d+)?$/.test(text.trim()) && Number(text) > 0 && Number(text) <= maxProfileSeconds ? undefined : `A number of seconds, at most ${maxProfileSeconds}.`),
        });
        if (answer === undefined) return false;
        seconds = Number(answer.trim());
        return true;
      },
    );
  },
};
