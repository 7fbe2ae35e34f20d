// What SSH may need to ask, answered in a terminal: passphrases and passwords are read from
// /dev/tty with echo off (the terminal in raw mode, nothing written back but the question); an
// unknown host key is never accepted here without --accept-new-host-key (the error then shows the
// fingerprint and how to accept it).
import { closeSync, openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import type { SshPrompts } from '../core';

const enter = new Set(['\r', '\n']);
const backspace = new Set(['\x7f', '\b']);
const interrupt = '\x03'; // Ctrl-C
const endOfInput = '\x04'; // Ctrl-D

/**
 * Reads one line from a terminal without echoing it. Raw mode turns the terminal's own echo off;
 * we write nothing for the keys typed. Ctrl-C and Ctrl-D give up (undefined).
 */
export function readHidden(input: ReadStream, output: NodeJS.WritableStream, question: string): Promise<string | undefined> {
  // Echo off before the question shows: an answer typed the moment it appears must not echo.
  input.setRawMode(true);
  input.resume();
  output.write(question);
  let typed = '';
  return new Promise<string | undefined>((resolve) => {
    const finish = (answer: string | undefined) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const key of chunk.toString('utf8')) {
        if (enter.has(key)) return finish(typed);
        if (key === interrupt || key === endOfInput) return finish(undefined);
        if (backspace.has(key)) typed = [...typed].slice(0, -1).join('');
        else if (key >= ' ') typed += key;
      }
    };
    input.on('data', onData);
  });
}

function openTerminal(flags: 'r' | 'w'): number | undefined {
  try {
    return openSync('/dev/tty', flags);
  } catch {
    return undefined;
  }
}

async function askHidden(question: string): Promise<string | undefined> {
  // One descriptor per stream: each stream closes its own, never the other's.
  const readFd = openTerminal('r');
  const writeFd = readFd === undefined ? undefined : openTerminal('w');
  if (readFd === undefined || writeFd === undefined) {
    if (readFd !== undefined) closeSync(readFd);
    return undefined; // no terminal (CI, pipes): nothing can be asked
  }
  const input = new ReadStream(readFd);
  const output = new WriteStream(writeFd);
  try {
    return await readHidden(input, output, question);
  } finally {
    input.destroy();
    output.end();
  }
}

export const terminalPrompts: SshPrompts = {
  confirmHostKey: async () => false,
  passphrase: (keyFile) => askHidden(`Passphrase for ${keyFile}: `),
  password: (user, host) => askHidden(`Password for ${user}@${host}: `),
};
