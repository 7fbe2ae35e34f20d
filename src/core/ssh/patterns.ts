// OpenSSH's patterns (match.c), shared by ssh_config and known_hosts: `*` matches any run, `?`
// exactly one character; a pattern-list is comma-separated and a `!` entry that matches vetoes it.
import { wildcardRegExp } from '../util/wildcard';

/** One pattern against one string, case-sensitive (OpenSSH's match_pattern). */
export function matchPattern(text: string, pattern: string): boolean {
  return wildcardRegExp(pattern).test(text);
}

/**
 * A comma-separated pattern-list: 1 when an entry matches, -1 when a negated entry matches
 * (which wins over everything else), 0 otherwise. `lowercasePatterns` is OpenSSH's dolower.
 */
export function matchPatternList(text: string, list: string, lowercasePatterns: boolean): 1 | 0 | -1 {
  let positive = false;
  for (const entry of list.split(',')) {
    const negated = entry.startsWith('!');
    const body = negated ? entry.slice(1) : entry;
    if (!matchPattern(text, lowercasePatterns ? body.toLowerCase() : body)) continue;
    if (negated) return -1;
    positive = true;
  }
  return positive ? 1 : 0;
}

/** Host names compare case-insensitively (OpenSSH's match_hostname). */
export function matchHostname(host: string, list: string): boolean {
  return matchPatternList(host.toLowerCase(), list, true) === 1;
}
