// What SSH may need to ask, answered in a terminal: passphrases and passwords are read from
// /dev/tty with echo off; an unknown host key is never accepted here without
// --accept-new-host-key (the error then shows the fingerprint and how to accept it).
import { createReadStream, createWriteStream, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SshPrompts } from '../core/ssh/connection';

async function askHidden(question: string): Promise<string | undefined> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return undefined; // no terminal (CI, pipes): nothing can be asked
  }
  const input = createReadStream('', { fd, autoClose: false });
  const output = createWriteStream('', { fd, autoClose: true });
  const rl = createInterface({ input, output, terminal: true });
  // Echo off: readline writes nothing of what is typed past the question.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    if (s.startsWith(question)) output.write(question);
  };
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    output.write('\n');
    rl.close();
    input.destroy();
  }
}

export const terminalPrompts: SshPrompts = {
  confirmHostKey: async () => false,
  passphrase: (keyFile) => askHidden(`Passphrase for ${keyFile}: `),
  password: (user, host) => askHidden(`Password for ${user}@${host}: `),
};
