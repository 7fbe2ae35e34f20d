// The "Snapshot Debugger" log channel: every remote command with its host, duration and exit
// code, and every workflow step. Secrets never reach it: known secret shapes are masked first.
import * as vscode from 'vscode';
import type { CommandLogEntry } from '../core';

const secretPatterns: RegExp[] = [
  /((?:password|passwd|passphrase|secret|token|api[_-]?key)["']?\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi,
  /(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----)/g,
  /(Authorization:\s*\w+\s+)(\S+)/gi,
];

export function redact(text: string): string {
  return secretPatterns.reduce((out, pattern) => out.replace(pattern, (_m, head: string, tail?: string) => (pattern.source.includes('BEGIN') ? `${head}…${tail}` : `${head}***`)), text);
}

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
