// OpenSSH-style wildcards (`*` any run, `?` one character) as a regular expression; every other
// character, brackets included, stands for itself.

export function wildcardRegExp(pattern: string, flags = ''): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}
