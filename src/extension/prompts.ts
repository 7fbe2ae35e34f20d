// What SSH needs to ask, asked in VS Code: an unknown host key gets a modal with its fingerprint
// ("Trust and Continue" / "Cancel"); a changed key never reaches here (the core refuses it).
// Passwords and passphrases use password input boxes, kept in SecretStorage only if the user
// turned snapdebug.rememberPasswords on.
import * as vscode from 'vscode';
import type { SshPrompts } from '../core';

export function createPrompts(secrets: vscode.SecretStorage, remember: () => boolean): SshPrompts {
  const askSecret = async (key: string, prompt: string): Promise<string | undefined> => {
    if (remember()) {
      const stored = await secrets.get(key);
      if (stored !== undefined) return stored;
    }
    const value = await vscode.window.showInputBox({ prompt, password: true, ignoreFocusOut: true });
    if (value !== undefined && remember()) await secrets.store(key, value);
    return value;
  };
  return {
    async confirmHostKey(question) {
      const trust = 'Trust and Continue';
      const answer = await vscode.window.showWarningMessage(
        `The host key of ${question.alias} (${question.host}:${question.port}) is not known.`,
        {
          modal: true,
          detail: `${question.keyType} key fingerprint:\n${question.fingerprint}\n\nCheck it with the host's administrator. If you trust it, it is recorded in ${question.knownHostsFile}.`,
        },
        trust,
      );
      return answer === trust;
    },
    passphrase: (keyFile) => askSecret(`passphrase:${keyFile}`, `Passphrase for ${keyFile}`),
    password: (user, host) => askSecret(`password:${user}@${host}`, `SSH password for ${user}@${host}`),
  };
}
