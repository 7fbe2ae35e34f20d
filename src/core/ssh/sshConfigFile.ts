// ssh_config files read the way OpenSSH reads them (readconf.c): one keyword and its arguments a
// line (`Keyword value` or `Keyword=value`, quotes, `#` comments), each Include read where it
// stands (globs, ~, relative paths under ~/.ssh or /etc/ssh), at most 16 levels deep. Included
// files and the user's own config must not be writable by another user, as OpenSSH demands.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { SnapdebugError } from '../util/errors';

export interface ConfigLine {
  file: string;
  line: number;
  /** Lowercased, as OpenSSH compares keywords. */
  keyword: string;
  /** As written, for messages. */
  spelled: string;
  args: string[];
  /** The arguments as written: ProxyCommand and ProxyJump take them whole. */
  raw: string;
  /** For Include: each file it named, read in place, in glob order. */
  included?: ConfigFile[];
}

export interface ConfigFile {
  path: string;
  lines: ConfigLine[];
}

export interface ReadOptions {
  /** A user configuration: relative Includes live in ~/.ssh and `~` is allowed (else /etc/ssh). */
  user: boolean;
  /** Refuse the file if another user could change it. */
  checkPermissions: boolean;
  home: string;
}

const maxIncludeDepth = 16;

export function configError(file: string, line: number, message: string, fix?: string): SnapdebugError {
  return new SnapdebugError(`ssh config ${file} line ${line}: ${message}`, fix ? { fix } : {});
}

/** OpenSSH's argv_split: whitespace separates, quotes group, `\` escapes quotes, a leading `#` ends the line. */
export function splitArguments(text: string): string[] | undefined {
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ' ' || text[i] === '\t') {
      i++;
      continue;
    }
    if (text[i] === '#') break;
    let quote = '';
    let arg = '';
    for (; i < text.length; i++) {
      const ch = text[i]!;
      const next = text[i + 1];
      if (ch === '\\' && (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' '))) arg += text[++i];
      else if (quote === '' && (ch === ' ' || ch === '\t')) break;
      else if (quote === '' && (ch === '"' || ch === "'")) quote = ch;
      else if (quote !== '' && ch === quote) quote = '';
      else arg += ch;
    }
    if (quote !== '') return undefined;
    args.push(arg);
  }
  return args;
}

/** One line as a keyword and its arguments; undefined for blank lines and comments. */
export function parseLine(text: string, file: string, line: number): Omit<ConfigLine, 'included'> | undefined {
  const body = text.replace(/[ \t\r\n\f]+$/, '').replace(/^[ \t\r\n]+/, '');
  if (body === '' || body.startsWith('#')) return undefined;
  const keyword = /^[^ \t\r\n"=]*/.exec(body)![0];
  if (keyword === '') throw configError(file, line, `"${body}" does not start with a keyword.`);
  // One `=` may separate the keyword from its value, with or without whitespace around it.
  const raw = body.slice(keyword.length).replace(/^[ \t\r\n]*(?:=[ \t\r\n]*)?/, '');
  if (raw === '') throw configError(file, line, `no argument after keyword "${keyword}".`);
  const args = splitArguments(raw);
  if (!args) throw configError(file, line, 'a quote is not closed.');
  return { file, line, keyword: keyword.toLowerCase(), spelled: keyword, args, raw };
}

function checkPermissions(path: string): void {
  const stat = statSync(path);
  const uid = process.getuid?.() ?? 0;
  if ((stat.uid !== 0 && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
    throw new SnapdebugError(`${path} could be changed by another user (owner uid ${stat.uid}, mode ${(stat.mode & 0o777).toString(8)}): OpenSSH refuses such a config file, and so does snapdebug.`, {
      fix: `chmod go-w ${path} (and make it yours)`,
    });
  }
}

/** glob(3) for one path: `*`, `?` and `[...]` in any component, dot files only when asked for, sorted. */
export function globPaths(pattern: string): string[] {
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
  let found = [parts[0] === '' ? '/' : parts[0]!];
  for (const part of parts.slice(1)) {
    if (!/[*?[]/.test(part)) {
      found = found.map((dir) => join(dir, part.replace(/\\(.)/g, '$1')));
      continue;
    }
    const regex = globSegmentRegExp(part);
    found = found.flatMap((dir) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return [];
      }
      return names.filter((n) => regex.test(n) && (part.startsWith('.') || !n.startsWith('.'))).sort().map((n) => join(dir, n));
    });
  }
  return found.filter((path) => {
    try {
      statSync(path);
      return true;
    } catch {
      return false;
    }
  });
}

function globSegmentRegExp(segment: string): RegExp {
  let body = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    if (ch === '\\' && i + 1 < segment.length) body += escapeRegExp(segment[++i]!);
    else if (ch === '*') body += '.*';
    else if (ch === '?') body += '.';
    else if (ch === '[' && segment.indexOf(']', i + 2) > 0) {
      const end = segment.indexOf(']', i + 2);
      const inner = segment.slice(i + 1, end);
      body += `[${inner.startsWith('!') ? '^' + inner.slice(1).replace(/[\\\]^]/g, '\\$&') : inner.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else body += escapeRegExp(ch);
  }
  return new RegExp(`^${body}$`, 's');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function includePaths(entry: ConfigLine, options: ReadOptions): string[] {
  return entry.args.flatMap((arg) => {
    if (arg.startsWith('~') && !options.user) throw configError(entry.file, entry.line, `Include ${arg}: ~ is not allowed in the system-wide configuration.`);
    if (arg.startsWith('~') && arg !== '~' && !arg.startsWith('~/')) {
      throw configError(entry.file, entry.line, `Include ${arg}: snapdebug expands ~ and ~/ only, not ~user.`);
    }
    const anchored = isAbsolute(arg) || arg.startsWith('~') ? arg : `${options.user ? '~/.ssh' : '/etc/ssh'}/${arg}`;
    return globPaths(anchored.startsWith('~') ? options.home + anchored.slice(1) : anchored);
  });
}

export function parseConfigText(text: string, path: string, options: ReadOptions, depth = 0): ConfigFile {
  const lines: ConfigLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const parsed = parseLine(raw, path, index + 1);
    if (!parsed) return;
    if (parsed.keyword !== 'include') return lines.push(parsed);
    if (depth >= maxIncludeDepth) throw configError(path, index + 1, `Include nests more than ${maxIncludeDepth} levels deep (does a file include itself?).`);
    const included = includePaths(parsed, options).flatMap((file) => readConfigFile(file, { ...options, checkPermissions: true }, depth + 1) ?? []);
    return lines.push({ ...parsed, included });
  });
  return { path, lines };
}

/** A config file with its Includes read; undefined if it does not exist. A folder reads as empty, as in OpenSSH. */
export function readConfigFile(path: string, options: ReadOptions, depth = 0): ConfigFile | undefined {
  let text: string;
  try {
    if (statSync(path).isDirectory()) return { path, lines: [] };
    if (options.checkPermissions) checkPermissions(path);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof SnapdebugError) throw error;
    throw new SnapdebugError(`Cannot read the ssh config file ${path}: ${(error as Error).message}`);
  }
  return parseConfigText(text, path, options, depth);
}
