// The "Snapshot Debugger" log channel: every remote command with its host, duration and exit
// code, and every workflow step. Secrets never reach it: every line goes through the core's redact().
import * as vscode from 'vscode';
import { redact, type CommandLogEntry } from '../core';

export interface Log {
  channel: vscode.LogOutputChannel;
  info(line: string): void;
  error(line: string): void;
  command(entry: CommandLogEntry): void;
}

export function createLog(): Log {
  const channel = vscode.window.createOutputChannel('Snapshot Debugger', { log: true });
  return {
    channel,
    info: (line) => channel.info(redact(line)),
    error: (line) => channel.error(redact(line)),
    command: (entry) => {
      const line = `[${entry.host}] ${redact(entry.command)} (${entry.durationMs} ms, exit ${entry.exitCode ?? 'none'})`;
      if (entry.exitCode === 0) channel.info(line);
      else channel.warn(line);
    },
  };
}
