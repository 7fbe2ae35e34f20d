// The one function that turns arguments into text for a remote shell. Every remote command is an
// argv built by a typed builder and passed through shellJoin; nothing else in the product may
// paste strings into a shell command line.

// `=` is left out: a leading NAME=value word would be read as an assignment, not a program.
const safeWord = /^[A-Za-z0-9_@%+:,./-]+$/;

/** Quotes one argument so that a POSIX shell reads it back as exactly that one word. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument for a remote command cannot contain a NUL byte');
  if (safeWord.test(arg)) return arg;
  // Inside single quotes nothing is special except the quote itself: close, escape, reopen.
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('a remote command needs at least a program name');
  return argv.map(shellQuote).join(' ');
}
