// What to find in memory: text (its UTF-8 bytes) or a regular expression over bytes, and how far a
// match can reach past where it starts (what streamSearch.ts keeps between pieces).
import { SnapdebugError } from '../util/errors';

export interface Matcher {
  /** The first match at or after `from`, as byte offsets into `haystack`. */
  find(haystack: Buffer, from: number): { index: number; length: number } | undefined;
  /** Bytes a match can extend past where it starts, minus one: how much to keep between pieces. */
  overlapBytes: number;
}

/** How far a regular expression match may reach: longer matches across two pieces can be missed. */
export const regexReachBytes = 4096;

/** The matcher for a search: text, or a regular expression (exactly one); throws a SnapdebugError for a bad one. */
export function queryMatcher(query: { text?: string; regex?: string }): Matcher {
  if ((query.text === undefined) === (query.regex === undefined)) throw new SnapdebugError('Search memory for text or for a regular expression (one of them).');
  return query.text !== undefined ? textMatcher(query.text) : regexMatcher(query.regex!);
}

/** Checks a search before any archive is read: text to find, or a regular expression that compiles. */
export function validateMemoryQuery(query: { text?: string; regex?: string }): void {
  queryMatcher(query);
}

export function textMatcher(text: string): Matcher {
  const needle = Buffer.from(text, 'utf8');
  if (needle.length === 0) throw new SnapdebugError('Search for at least one character.');
  return {
    overlapBytes: needle.length - 1,
    find: (haystack, from) => {
      const index = haystack.indexOf(needle, from);
      return index < 0 ? undefined : { index, length: needle.length };
    },
  };
}

export function regexMatcher(source: string): Matcher {
  let regex: RegExp;
  try {
    // Memory is bytes: each byte becomes one latin1 character, and non-ASCII characters in the
    // pattern become their UTF-8 bytes, so "é" finds the UTF-8 "é" a program stored.
    regex = new RegExp(Buffer.from(source, 'utf8').toString('latin1'), 'gs');
  } catch (error) {
    throw new SnapdebugError(`"${source}" is not a regular expression: ${(error as Error).message}`);
  }
  let cached: { buffer: Buffer; text: string } | undefined;
  return {
    overlapBytes: regexReachBytes,
    find: (haystack, from) => {
      if (cached?.buffer !== haystack) cached = { buffer: haystack, text: haystack.toString('latin1') };
      for (let at = from; at <= cached.text.length; ) {
        regex.lastIndex = at;
        const match = regex.exec(cached.text);
        if (!match) return undefined;
        if (match[0].length > 0) return { index: match.index, length: match[0].length };
        at = match.index + 1; // an empty match finds nothing worth showing
      }
      return undefined;
    },
  };
}
