// What SSH needs to ask, asked in VS Code: an unknown host key gets a modal with its fingerprint
// ("Trust and Continue" / "Cancel"); a changed key never reaches here (the core refuses it).
// Passwords and passphrases use password input boxes, kept in SecretStorage only if the user
// turned snapdebug.rememberPasswords on, and forgotten as soon as the server or the key refuses one.
import * as vscode from 'vscode';
import type { RefusedSecret, SshPrompts } from '../core';

const passwordKey = (user: string, host: string) => `password:${user}@${host}`;
const passphraseKey = (keyFile: string) => `passphrase:${keyFile}`;

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
          detail: `${question.keyType} key fingerprint:\n${question.fingerprint}\n\nCheck it with the host's administrator. ${
            question.knownHostsFile ? `If you trust it, it is recorded in ${question.knownHostsFile}.` : 'If you trust it, it is trusted for this connection only (UserKnownHostsFile none).'
          }`,
        },
        trust,
      );
      return answer === trust;
    },
    passphrase: (keyFile) => askSecret(passphraseKey(keyFile), `Passphrase for ${keyFile}`),
    password: (user, host) => askSecret(passwordKey(user, host), `SSH password for ${user}@${host}`),
    // Whether or not remembering is on now: a refused secret must not stay behind.
    async refused(secret: RefusedSecret) {
      await secrets.delete(secret.kind === 'password' ? passwordKey(secret.user, secret.host) : passphraseKey(secret.keyFile));
    },
  };
}
