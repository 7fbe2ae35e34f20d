// Open the SSH config the hosts come from (created empty, 0600, if missing).
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { sshConfigFile } from '../../core';
import type { Command } from './command';

export const openSshConfig: Command = {
  id: 'snapdebug.openSshConfig',
  async run(services) {
    const file = sshConfigFile(services.core());
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      closeSync(openSync(file, 'a', 0o600));
      chmodSync(file, 0o600);
    }
    await vscode.window.showTextDocument(vscode.Uri.file(file));
  },
};
